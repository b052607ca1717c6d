import type { JobSandbox } from "../sandbox/sandbox.js";
import type { CompletionResult, ExitInfo, Insights, Job, NewEvent, ProfileSnapshot } from "@gigafactory/schema";

/** What an engine needs to run one attempt of a job. */
export interface EngineContext {
  job: Pick<Job, "_id" | "bodyMd" | "command" | "timeoutMs" | "engine">;
  /** Persona, model, extra CLI arguments, env, max turns and allowed tools. */
  profile?: ProfileSnapshot;
  /** The job's workspace; the child runs here. */
  workdir: string;
  /**
   * The child's whole environment (nothing is inherited from the daemon); the profile's
   * `env` is laid over it. It must carry `PATH`, which is also where the binary is looked up.
   */
  env: Record<string, string>;
  /** Aborting kills the child's whole process group; the outcome is then `cancelled`. */
  signal: AbortSignal;
  /** On abort or timeout: SIGTERM to the group, then SIGKILL after this many milliseconds. */
  killGraceMs: number;
  /** Run this program instead of the engine's `binaryName` (tests point it at fake programs). */
  binary?: string;
  /** The job's sandbox; without it the engine runs unsandboxed (the factory's `--no-sandbox`). */
  sandbox?: JobSandbox;
}

/**
 * One event as the factory appends it. Data shapes, by type:
 * - `log`: `{ stream: "stdout" | "stderr", line }`, one event per output line the engine
 *   did not understand as something more specific (shell output, stderr, unparseable lines).
 * - `message`: `{ role, text }`, role `assistant` | `thinking` | `reasoning` | `error`.
 * - `tool_use`: `{ phase: "call", id?, name, input, ... }` for a tool the agent used, and
 *   `{ phase: "result", id?, isError, output }` for its result where the engine reports it.
 * Engines yield events one by one as lines arrive; batching them for upload is the caller's job.
 * Text fields are cut to keep each event well under `EVENT_LIMITS.maxDataBytes`.
 */
export type EngineEvent = NewEvent;

export interface EngineResult {
  exit: ExitInfo;
  /**
   * Token semantics are the same for every engine: `tokensIn` is prompt tokens not served
   * from a cache (cache writes included), `tokensCached` prompt tokens read from a cache,
   * `tokensOut` generated tokens. `durationMs` is wall-clock time of the child.
   */
  insights: Insights;
  /** How the run ended, as the factory reports it through `complete`. */
  outcome: CompletionResult;
  /** Why the run did not succeed, in words. */
  reason?: string;
  /** Process (and process group) id of the child; absent when it could not be started. */
  pid?: number;
}

/**
 * A running attempt. Iterate it for events (one consumer; events wait in memory until
 * read); `result` settles once the child and everything in its process group are gone,
 * whether or not the events were read.
 */
export interface EngineRun extends AsyncIterable<EngineEvent> {
  readonly pid: number | undefined;
  readonly result: Promise<EngineResult>;
}

export interface Engine {
  /** The `EngineId` jobs ask for. */
  readonly id: string;
  /** One line for humans. */
  readonly describe: string;
  /** The program looked up on `PATH`. */
  readonly binaryName: string;
  /**
   * False: for a job with no repository the engine runs in a plain directory, made a git
   * repository only when there are changes to commit (agent CLIs expect one; a shell command does not).
   * @defaultValue true
   */
  readonly wantsGit?: boolean;
  run(ctx: EngineContext): EngineRun;
}
