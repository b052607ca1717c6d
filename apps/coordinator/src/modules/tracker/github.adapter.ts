import type { EchoState, ParsedTrackerRef, TrackerItem } from "@gigafactory/schema";
import { Octokit } from "@octokit/rest";
import { ECHO_LABEL_PREFIX } from "./label-mapping.js";
import { type TrackerAdapter, TrackerError } from "./tracker-adapter.js";

export interface GitHubAdapterOptions {
  token: string | undefined;
  /** The REST API root (GitHub Enterprise and tests point it elsewhere). */
  apiUrl: string;
  triggerLabel: string;
  /** `owner/repo` names the polling safety net lists. */
  repos: readonly string[];
  /** Close the issue when its job shipped. */
  closeOnDone: boolean;
}

/** The labels an echo sets: one per state, the others removed. */
export const ECHO_LABELS: Readonly<Record<EchoState, string>> = {
  in_progress: `${ECHO_LABEL_PREFIX}in-progress`,
  done: `${ECHO_LABEL_PREFIX}done`,
  blocked: `${ECHO_LABEL_PREFIX}blocked`,
};

type GitHubRef = Extract<ParsedTrackerRef, { kind: "github" }>;

/** GitHub Issues through the REST API (`@octokit/rest`). */
export class GitHubAdapter implements TrackerAdapter {
  readonly kind = "github" as const;
  private readonly octokit: Octokit;
  /** The last list of each repository and its ETag: an unchanged list costs a 304, not a page. */
  private readonly lists = new Map<string, { etag: string; items: TrackerItem[] }>();

  constructor(private readonly opts: GitHubAdapterOptions) {
    this.octokit = new Octokit({
      ...(opts.token ? { auth: opts.token } : {}),
      baseUrl: opts.apiUrl.replace(/\/+$/, ""),
      userAgent: "gigafactory-coordinator",
      // Octokit logs request failures itself by default; the outbox logs them once, with context
      log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
    });
  }

  async fetchItem(ref: ParsedTrackerRef): Promise<TrackerItem> {
    const { owner, repo, number } = github(ref);
    const { data } = await call(`issue ${owner}/${repo}#${number}`, () =>
      this.octokit.rest.issues.get({ owner, repo, issue_number: number }),
    );
    return {
      ref: `github:${owner}/${repo}#${number}`,
      title: data.title,
      body: data.body ?? "",
      labels: data.labels.map((label) => (typeof label === "string" ? label : (label.name ?? ""))).filter(Boolean),
      state: data.state,
      url: data.html_url,
    };
  }

  async setState(ref: ParsedTrackerRef, state: EchoState): Promise<void> {
    const { owner, repo, number } = github(ref);
    const what = `labels of ${owner}/${repo}#${number}`;
    const { data: current } = await call(what, () =>
      this.octokit.rest.issues.listLabelsOnIssue({ owner, repo, issue_number: number, per_page: 100 }),
    );
    const wanted = ECHO_LABELS[state];
    for (const label of current) {
      if (label.name.startsWith(ECHO_LABEL_PREFIX) && label.name !== wanted)
        await call(what, () =>
          this.octokit.rest.issues.removeLabel({ owner, repo, issue_number: number, name: label.name }),
        );
    }
    if (!current.some((label) => label.name === wanted))
      await call(what, () =>
        this.octokit.rest.issues.addLabels({ owner, repo, issue_number: number, labels: [wanted] }),
      );
    if (state === "done" && this.opts.closeOnDone)
      await call(what, () =>
        this.octokit.rest.issues.update({
          owner,
          repo,
          issue_number: number,
          state: "closed",
          state_reason: "completed",
        }),
      );
  }

  async comment(ref: ParsedTrackerRef, body: string): Promise<void> {
    const { owner, repo, number } = github(ref);
    await call(`comment on ${owner}/${repo}#${number}`, () =>
      this.octokit.rest.issues.createComment({ owner, repo, issue_number: number, body }),
    );
  }

  async listTriggered(): Promise<TrackerItem[]> {
    const items: TrackerItem[] = [];
    for (const full of this.opts.repos) items.push(...(await this.listRepo(full)));
    return items;
  }

  /** Open issues of one repository carrying the trigger label, asked conditionally (If-None-Match). */
  private async listRepo(full: string): Promise<TrackerItem[]> {
    const [owner = "", repo = ""] = full.split("/");
    const cached = this.lists.get(full);
    let response: Awaited<ReturnType<Octokit["rest"]["issues"]["listForRepo"]>>;
    try {
      response = await this.octokit.rest.issues.listForRepo({
        owner,
        repo,
        labels: this.opts.triggerLabel,
        state: "open",
        per_page: 100,
        ...(cached ? { headers: { "if-none-match": cached.etag } } : {}),
      });
    } catch (error) {
      if (cached && (error as { status?: unknown }).status === 304) return cached.items;
      return call(`issues of ${full}`, () => Promise.reject(error));
    }
    const items = response.data
      .filter((issue) => !issue.pull_request)
      .map((issue) => ({
        ref: `github:${owner}/${repo}#${issue.number}`,
        title: issue.title,
        body: issue.body ?? "",
        labels: issue.labels.map((label) => (typeof label === "string" ? label : (label.name ?? ""))).filter(Boolean),
        state: issue.state,
        url: issue.html_url,
      }));
    const etag = response.headers.etag;
    if (etag) this.lists.set(full, { etag, items });
    return items;
  }
}

function github(ref: ParsedTrackerRef): GitHubRef {
  if (ref.kind !== "github") throw new TrackerError(`not a GitHub reference: ${ref.kind}`, undefined);
  return ref;
}

/** One REST call; a refusal becomes a `TrackerError` naming what was asked and GitHub's status. */
async function call<T>(what: string, request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (error) {
    const status = (error as { status?: unknown }).status;
    const code = typeof status === "number" ? status : undefined;
    const reason = code === 404 ? "not found (or the token cannot see it)" : (error as Error).message;
    throw new TrackerError(`GitHub: ${what}: ${reason}${code ? ` (HTTP ${code})` : ""}`, code);
  }
}
