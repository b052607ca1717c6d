import { type CompletionResult, REASON_MAX } from "@gigafactory/schema";
import type { EngineContext, EngineEvent, EngineResult, EngineRun } from "./engine.js";
import { EventQueue } from "./event-queue.js";
import { clip, logEvent } from "./events.js";
import type { OutputParser, ParsedOutput } from "./output-parser.js";
import { type GroupExit, spawnGroup } from "./process.js";
import type { SandboxExtras } from "../sandbox/sandbox.js";

/** Reasons are stored on the run (at most {@link REASON_MAX} characters); room is left for clip's note. */
const MAX_REASON = REASON_MAX - 50;

export interface StartRunOptions {
  ctx: EngineContext;
  file: string;
  args: readonly string[];
  /** Written to the child's stdin (e.g. a prompt too long for argv). */
  input?: string;
  parser: OutputParser;
  /** Runs once the process group is gone, before `result` settles (e.g. to remove temp files). */
  cleanup?: () => Promise<void>;
  /** Outside the workspace, what the program reads (a temp file) and its config in HOME, for the sandbox. */
  sandboxExtras?: SandboxExtras;
}

/** Wires a process group to a parser: every adapter's `run` ends here. */
export function startEngineRun(opts: StartRunOptions): EngineRun {
  const { ctx, parser } = opts;
  const queue = new EventQueue<EngineEvent>();
  const proc = spawnGroup({
    file: opts.file,
    args: opts.args,
    cwd: ctx.workdir,
    env: { ...ctx.env, ...ctx.profile?.env },
    input: opts.input,
    timeoutMs: ctx.job.timeoutMs,
    signal: ctx.signal,
    killGraceMs: ctx.killGraceMs,
    ...(ctx.sandbox ? { sandbox: ctx.sandbox } : {}),
    ...(opts.sandboxExtras ? { sandboxExtras: opts.sandboxExtras } : {}),
    onLine: ({ stream, line }) => {
      let events: EngineEvent[];
      try {
        events = parser.line(stream, line);
      } catch {
        events = [logEvent(stream, line)];
      }
      for (const event of events) queue.push(event);
    },
  });

  const result = proc.exit.then(async (exit): Promise<EngineResult> => {
    try {
      await opts.cleanup?.();
    } catch {
      // A temp file we could not remove is not the run's failure.
    }
    queue.end();
    const parsed = parser.finish();
    const { outcome, reason } = judge(exit, parsed, opts.file, ctx.job.timeoutMs);
    return {
      exit: { code: exit.code, signal: exit.signal },
      insights: { ...parsed.insights, durationMs: exit.durationMs },
      outcome,
      ...(reason === undefined ? {} : { reason: clip(reason, MAX_REASON) }),
      ...(proc.pid === undefined ? {} : { pid: proc.pid }),
    };
  });

  return { pid: proc.pid, result, [Symbol.asyncIterator]: () => queue };
}

function judge(
  exit: GroupExit,
  parsed: ParsedOutput,
  file: string,
  timeoutMs: number,
): { outcome: CompletionResult; reason?: string } {
  switch (exit.reason) {
    case "timeout":
      return { outcome: "timeout", reason: `timed out after ${timeoutMs} ms` };
    case "cancelled":
      return { outcome: "cancelled", reason: "cancelled" };
    case "spawn_error":
      return { outcome: "failure", reason: `could not start ${file}: ${exit.error ?? "unknown error"}` };
    case "exited":
      break;
  }
  if (exit.code !== 0) {
    const how = exit.signal === null ? `exited with code ${exit.code}` : `killed by ${exit.signal}`;
    return { outcome: "failure", reason: parsed.error === undefined ? how : `${how}: ${parsed.error}` };
  }
  if (parsed.error !== undefined) return { outcome: "failure", reason: parsed.error };
  return { outcome: "success" };
}

/** A run that never started, e.g. because its script could not be written. */
export function failedRun(reason: string): EngineRun {
  const queue = new EventQueue<EngineEvent>();
  queue.end();
  const result = Promise.resolve<EngineResult>({
    exit: { code: null, signal: null },
    insights: { durationMs: 0 },
    outcome: "failure",
    reason: clip(reason, MAX_REASON),
  });
  return { pid: undefined, result, [Symbol.asyncIterator]: () => queue };
}
