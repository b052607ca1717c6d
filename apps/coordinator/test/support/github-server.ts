import { createHash } from "node:crypto";
import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { type Match, OpenApiValidator } from "./openapi-validator.js";

/** One issue as the scripted server keeps it. */
export interface ScriptedIssue {
  title: string;
  body: string | null;
  labels: string[];
  state: "open" | "closed";
}

export interface RecordedRequest {
  method: string;
  path: string;
  operationId: string | undefined;
  body: unknown;
  errors: string[];
}

let validator: OpenApiValidator | undefined;

/**
 * A loopback stand-in for GitHub's REST API: every request is checked against GitHub's published
 * OpenAPI description (a request it does not describe, or one missing a required parameter or
 * with a body its schema refuses, is recorded as a violation and answered 422); valid ones are
 * answered from scripted issues. `failNext` scripts errors. Only what the tracker uses is answered.
 */
export class ScriptedGitHub {
  readonly requests: RecordedRequest[] = [];
  readonly issues = new Map<string, ScriptedIssue>();
  readonly comments: Array<{ issue: string; body: string }> = [];
  /** Conditional list requests answered 304 Not Modified. */
  notModified = 0;
  private readonly faults: Array<{ operationId: string; status: number; left: number }> = [];
  private server: Server | undefined;
  url = "";

  /** Requests that broke the OpenAPI description: a test asserts there are none. */
  get violations(): RecordedRequest[] {
    return this.requests.filter((request) => request.errors.length > 0);
  }

  static async start(): Promise<ScriptedGitHub> {
    validator ??= OpenApiValidator.github();
    const github = new ScriptedGitHub();
    github.server = createServer((req, res) => {
      github.handle(req, res).catch((error: unknown) => {
        res.writeHead(500).end(String(error));
      });
    });
    await new Promise<void>((resolve) => github.server?.listen(0, "127.0.0.1", resolve));
    github.url = `http://127.0.0.1:${(github.server.address() as AddressInfo).port}`;
    return github;
  }

  issue(full: string, number: number, issue: Partial<ScriptedIssue> = {}): void {
    this.issues.set(`${full}#${number}`, { title: "Untitled", body: "", labels: [], state: "open", ...issue });
  }

  /** The next `times` calls of `operationId` (e.g. `issues/add-labels`) are answered `status`. */
  failNext(operationId: string, status: number, times = 1): void {
    this.faults.push({ operationId, status, left: times });
  }

  calls(operationId: string): RecordedRequest[] {
    return this.requests.filter((request) => request.operationId === operationId);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<true> {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    const body = text ? (JSON.parse(text) as unknown) : undefined;
    const { match, errors } = (validator as OpenApiValidator).check(req.method ?? "GET", url, body);
    this.requests.push({ method: req.method ?? "", path: url.pathname, operationId: match?.operationId, body, errors });
    const send = (status: number, payload?: unknown): true => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(payload === undefined ? "" : JSON.stringify(payload));
      return true;
    };
    if (!match || errors.length) return send(422, { message: "Validation Failed", errors });
    const fault = this.faults.find((candidate) => candidate.operationId === match.operationId && candidate.left > 0);
    if (fault) {
      fault.left--;
      return send(fault.status, { message: `scripted ${fault.status}` });
    }
    if (match.operationId === "issues/list-for-repo") {
      // GitHub answers an unchanged list 304 when asked with its ETag (and does not count it)
      let listed: unknown;
      this.answer(match, url.searchParams, body, (_status, payload) => {
        listed = payload;
        return true;
      });
      const etag = `"${createHash("sha1").update(JSON.stringify(listed)).digest("hex")}"`;
      if (req.headers["if-none-match"] === etag) {
        this.notModified++;
        res.writeHead(304, { etag }).end();
        return true;
      }
      res.writeHead(200, { "content-type": "application/json", etag });
      res.end(JSON.stringify(listed));
      return true;
    }
    return this.answer(match, url.searchParams, body, send);
  }

  private answer(
    match: Match,
    query: URLSearchParams,
    body: unknown,
    send: (status: number, payload?: unknown) => true,
  ): true {
    const { owner, repo, issue_number: number, name } = match.params;
    const key = `${owner}/${repo}#${number}`;
    const issue = this.issues.get(key);
    const labels = () => (issue?.labels ?? []).map((label, i) => ({ id: i + 1, name: label, color: "ededed" }));
    const shown = (n: string, it: ScriptedIssue) => ({
      id: Number(n),
      number: Number(n),
      title: it.title,
      body: it.body,
      state: it.state,
      labels: it.labels.map((label, i) => ({ id: i + 1, name: label })),
      html_url: `https://github.example/${owner}/${repo}/issues/${n}`,
    });
    switch (match.operationId) {
      case "issues/list-for-repo": {
        const prefix = `${owner}/${repo}#`;
        const wanted = (query.get("labels") ?? "").split(",").filter(Boolean);
        const state = query.get("state") ?? "open";
        const open = [...this.issues].filter(
          ([k, it]) =>
            k.startsWith(prefix) &&
            (state === "all" || it.state === state) &&
            wanted.every((label) => it.labels.includes(label)),
        );
        return send(
          200,
          open.map(([k, it]) => shown(k.slice(prefix.length), it)),
        );
      }
      case "issues/get":
        return issue ? send(200, shown(number ?? "", issue)) : send(404, { message: "Not Found" });
      case "issues/list-labels-on-issue":
        return issue ? send(200, labels()) : send(404, { message: "Not Found" });
      case "issues/add-labels": {
        if (!issue) return send(404, { message: "Not Found" });
        const added = (body as { labels: string[] }).labels;
        for (const label of added) if (!issue.labels.includes(label)) issue.labels.push(label);
        return send(200, labels());
      }
      case "issues/remove-label": {
        if (!issue?.labels.includes(name ?? "")) return send(404, { message: "Label does not exist" });
        issue.labels = issue.labels.filter((label) => label !== name);
        return send(200, labels());
      }
      case "issues/create-comment": {
        if (!issue) return send(404, { message: "Not Found" });
        this.comments.push({ issue: key, body: (body as { body: string }).body });
        return send(201, { id: this.comments.length, body: (body as { body: string }).body });
      }
      case "issues/update": {
        if (!issue) return send(404, { message: "Not Found" });
        const state = (body as { state?: "open" | "closed" }).state;
        if (state) issue.state = state;
        return send(200, shown(number ?? "", issue));
      }
      default:
        return send(501, { message: `the scripted server does not answer ${match.operationId}` });
    }
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
