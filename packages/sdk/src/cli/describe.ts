import { eventText, type Job, type JobEvent, type Stage } from "@gigafactory/schema";
import { type Colors, formatCount, formatMs, formatUsd } from "./output.js";

/** Colours a stage name (already padded) by what it means. */
export function paintStage(c: Colors, stage: Stage | string, text: string = stage): string {
  switch (stage) {
    case "shipped":
      return c.green(text);
    case "failed":
      return c.red(text);
    case "cancelled":
      return c.yellow(text);
    case "building":
    case "testing":
      return c.cyan(text);
    case "review":
      return c.magenta(text);
    default:
      return text;
  }
}

/** `attempt/maxAttempts`. */
export function attemptOf(job: Pick<Job, "attempt" | "maxAttempts">): string {
  return `${job.attempt}/${job.maxAttempts}`;
}

const str = (value: unknown): string | undefined =>
  typeof value === "string" ? value : typeof value === "number" ? String(value) : undefined;

/** The stage a job is in right after this event, for lifecycle events that say. */
export function stageAfter(event: Pick<JobEvent, "type" | "data">): Stage | undefined {
  const named = str(event.data.stage) as Stage | undefined;
  switch (event.type) {
    case "created":
    case "requeued":
    case "released":
    case "retried":
      return "inbox";
    case "claimed":
      return "building";
    case "approval_requested":
      return "review";
    case "completed":
    case "approved":
      return "shipped";
    case "failed":
      return "failed";
    case "cancelled":
      return "cancelled";
    case "stage":
    case "lost":
    case "rejected":
    case "dep_failed":
    case "recovered":
      return named;
    default:
      return undefined;
  }
}

/** Event types a factory writes while running a job (its output), as opposed to lifecycle events. */
const OUTPUT_TYPES = new Set<string>(["log", "message", "tool_use"]);

export function isOutputEvent(event: Pick<JobEvent, "type">): boolean {
  return OUTPUT_TYPES.has(event.type);
}

/** One line describing any event, e.g. `claimed by local-1 (attempt 1)`. */
export function describeEvent(event: Pick<JobEvent, "type" | "data" | "jobId">): string {
  const d = event.data;
  const reason = str(d.reason);
  const why = reason ? `: ${reason}` : "";
  switch (event.type) {
    case "log":
      return eventText(event);
    case "message":
      return `[${str(d.role) ?? "message"}] ${str(d.text) ?? ""}`;
    case "tool_use":
      return d.phase === "result"
        ? `← ${str(d.name) ?? "tool"}${d.isError === true ? " (error)" : ""}`
        : `→ ${str(d.name) ?? "tool"} ${brief(d.input)}`;
    case "created":
      return `created (${str(d.engine) ?? "?"}${Array.isArray(d.capabilities) && d.capabilities.length ? `, needs ${d.capabilities.join(", ")}` : ""})`;
    case "claimed":
      return `claimed by ${str(d.factoryId) ?? "?"} (attempt ${str(d.attempt) ?? "?"})`;
    case "stage":
      return `stage ${str(d.stage) ?? "?"}`;
    case "requeued":
      return `attempt ${str(d.attempt) ?? "?"} ended ${str(d.result) ?? ""}${why}; back to inbox${typeof d.retryInMs === "number" ? `, retry in ${formatMs(d.retryInMs)}` : ""}`;
    case "lost":
      return `lease lost by ${str(d.factoryId) ?? "?"}; now ${str(d.stage) ?? "?"}${why}`;
    case "released":
      return `released${why}`;
    case "cancel_requested":
      return `cancel requested${why}`;
    case "cancelled":
      return `cancelled${why}`;
    case "retried":
      return `retried (was ${str(d.from) ?? "?"})`;
    case "approval_requested":
      return `waiting for approval: gf approve ${event.jobId} (or gf reject)`;
    case "approved":
      return `approved${str(d.note) ? `: ${str(d.note)}` : ""}`;
    case "rejected":
      return `rejected${str(d.note) ? `: ${str(d.note)}` : ""}; now ${str(d.stage) ?? "?"}`;
    case "completed":
      return `shipped (attempt ${str(d.attempt) ?? "?"})`;
    case "failed":
      return `failed${d.result ? ` (${str(d.result)})` : ""}${why}`;
    case "dep_failed":
      return `dependency ${str(d.dependency) ?? "?"} did not ship; now ${str(d.stage) ?? "?"}${why}`;
    case "checkpoint":
      return `checkpoint ${str(d.wipBranch) ?? ""} ${str(d.wipCommit)?.slice(0, 10) ?? ""}`.trimEnd();
    case "artifact":
      return `artifact ${str(d.name) ?? "?"} (${typeof d.size === "number" ? formatCount(d.size) : "?"} bytes)`;
    case "insights":
      return `insights ${describeInsights(d)}`;
    case "verify":
      return describeVerify(d);
    default:
      return `${event.type} ${brief(d)}`;
  }
}

/** Tokens, cost, turns and files of an insights object, where present. */
export function describeInsights(insights: Record<string, unknown>): string {
  const n = (key: string) => (typeof insights[key] === "number" ? (insights[key] as number) : undefined);
  const parts: string[] = [];
  if (typeof insights.model === "string") parts.push(insights.model);
  if (n("tokensIn") !== undefined || n("tokensOut") !== undefined)
    parts.push(`${formatCount(n("tokensIn"))} in / ${formatCount(n("tokensOut"))} out tokens`);
  if (n("tokensCached")) parts.push(`${formatCount(n("tokensCached"))} cached`);
  if (n("costUsd") !== undefined)
    parts.push(`${formatUsd(n("costUsd"))}${insights.estimated === true ? " (est.)" : ""}`);
  if (n("turns") !== undefined) parts.push(`${n("turns")} turns`);
  if (n("toolCalls") !== undefined) parts.push(`${n("toolCalls")} tool calls`);
  if (n("filesChanged") !== undefined)
    parts.push(`${n("filesChanged")} files +${n("linesAdded") ?? 0}/-${n("linesDeleted") ?? 0}`);
  if (n("durationMs") !== undefined) parts.push(formatMs(n("durationMs")));
  return parts.join(", ") || "-";
}

/** `verify passed (2 gates)` or `verify failed: pnpm test exited 1`. */
function describeVerify(data: Record<string, unknown>): string {
  const steps = Array.isArray(data.steps) ? (data.steps as Array<Record<string, unknown>>) : [];
  if (data.passed === true) return `verify passed (${steps.length} gate${steps.length === 1 ? "" : "s"})`;
  const failed = steps.find((step) => step.exitCode !== 0);
  if (data.passed === false && failed)
    return `verify failed: ${str(failed.command) ?? "?"} exited ${failed.exitCode === null ? "by a signal" : str(failed.exitCode)}`;
  return `verify ${brief(data)}`;
}

function brief(value: unknown): string {
  if (value === undefined) return "";
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length > 160 ? `${text.slice(0, 159)}…` : text;
}
