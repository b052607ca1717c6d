import type { IncomingMessage, ServerResponse } from "node:http";
import { verify } from "@octokit/webhooks-methods";
import type { Logger } from "../../logger.js";
import type { TrackerRepository, DeliveryWork } from "./tracker.repository.js";
import type { TrackerService } from "./tracker.service.js";

export interface GitHubWebhookConfig {
  secret: string | undefined;
  triggerLabel: string;
  /** Our own bot's login: its events (our echoes) are ignored. */
  botLogin: string | undefined;
  productId: string;
  maxBytes: number;
}

/** The parts of an `issues` event payload this reads; everything else is ignored. */
interface IssuesPayload {
  action?: unknown;
  label?: { name?: unknown };
  issue?: { number?: unknown; labels?: Array<{ name?: unknown }> };
  repository?: { full_name?: unknown };
  sender?: { login?: unknown; type?: unknown };
}

/**
 * What a delivery asks for: `issues` labeled with the trigger label (or opened carrying it) →
 * import; closed → cancel if not started; anything else, or our own bot's event → nothing.
 */
export function workOf(
  event: string,
  payload: IssuesPayload,
  config: Pick<GitHubWebhookConfig, "triggerLabel" | "botLogin" | "productId">,
): { work: DeliveryWork | null; why: string } {
  const sender = typeof payload.sender?.login === "string" ? payload.sender.login : undefined;
  if (config.botLogin && sender === config.botLogin) return { work: null, why: "sent by our own bot" };
  if (event !== "issues") return { work: null, why: `event ${event} is not handled` };
  const repo = payload.repository?.full_name;
  const number = payload.issue?.number;
  if (typeof repo !== "string" || typeof number !== "number") return { work: null, why: "no issue in the payload" };
  const ref = `github:${repo}#${number}`;
  const trigger = config.triggerLabel;
  const carries = (payload.issue?.labels ?? []).some((label) => label.name === trigger);
  const { productId } = config;
  if (payload.action === "labeled" && payload.label?.name === trigger)
    return { work: { kind: "import", ref, productId }, why: "labeled" };
  if (payload.action === "opened" && carries) return { work: { kind: "import", ref, productId }, why: "opened" };
  if (payload.action === "closed") return { work: { kind: "cancel", ref, productId }, why: "closed" };
  return { work: null, why: `action ${String(payload.action)} is not handled` };
}

/**
 * `POST /webhooks/github`: the signature is checked over the raw body bytes (constant time, by
 * `@octokit/webhooks-methods`) before anything is parsed or written; a delivery is stored once by
 * its `X-GitHub-Delivery` and answered at once, its work run afterwards (here, or by any
 * coordinator's sweep if this one dies first).
 */
export async function handleGitHubWebhook(
  req: IncomingMessage,
  res: ServerResponse,
  deps: { config: GitHubWebhookConfig; repo: TrackerRepository; tracker: TrackerService; logger: Logger },
): Promise<void> {
  const { config } = deps;
  const answer = (status: number, body: Record<string, unknown>) => {
    if (!res.headersSent) res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };
  if (req.method !== "POST") return answer(405, { error: "POST only" });
  if (!config.secret) return answer(404, { error: "GitHub webhooks are not configured (GF_GITHUB_WEBHOOK_SECRET)" });
  const raw = await readBody(req, config.maxBytes);
  if (!raw) {
    res.setHeader("connection", "close");
    return answer(413, { error: `the body is over ${config.maxBytes} bytes` });
  }
  const signature = header(req, "x-hub-signature-256");
  const text = raw.toString("utf8");
  // the signature covers bytes: a body that is not exactly its UTF-8 text cannot be checked as such
  const exact = Buffer.from(text, "utf8").equals(raw);
  if (!signature || !exact || !text || !(await verify(config.secret, text, signature).catch(() => false)))
    return answer(401, { error: "missing or invalid X-Hub-Signature-256" });

  const deliveryId = header(req, "x-github-delivery");
  const event = header(req, "x-github-event");
  if (!deliveryId || !/^[A-Za-z0-9-]{1,100}$/.test(deliveryId) || !event)
    return answer(400, { error: "X-GitHub-Delivery and X-GitHub-Event are required" });
  let payload: IssuesPayload;
  try {
    payload = JSON.parse(text) as IssuesPayload;
  } catch {
    return answer(400, { error: "the body is not JSON" });
  }
  const { work, why } = workOf(event, payload ?? {}, config);
  const id = `github:${deliveryId}`;
  const fresh = await deps.repo.recordDelivery({
    _id: id,
    event,
    work,
    status: work ? "queued" : "ignored",
    receivedAt: new Date(),
    lockedUntil: new Date(0),
    attempts: 0,
  });
  if (!fresh) return answer(200, { delivery: deliveryId, duplicate: true });
  if (!work) return answer(202, { delivery: deliveryId, ignored: why });
  answer(202, { delivery: deliveryId, queued: work.kind, ref: work.ref });
  // after the answer: GitHub waits 10 s at most, and an import calls GitHub back
  setImmediate(() => {
    deps.tracker.runDelivery(id).catch((error: unknown) => deps.logger.error({ err: error, id }, "delivery failed"));
  });
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === "string" && value.length > 0 ? value : undefined;
}

/** The whole body, or undefined once it passes `maxBytes` (the rest is not read). */
async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | undefined> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > maxBytes) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
