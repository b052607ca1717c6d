import { TRPCClientError } from "@trpc/client";
import { WRITE_TRIES, writeRetryDelay } from "../options.js";

/** A write the coordinator refused with `FENCED`: a newer lease holds the job, so the runner stops and reports nothing. */
export class FencedSignal extends Error {
  constructor(readonly jobId: string) {
    super(`job ${jobId}: fenced — a newer lease holds it`);
    this.name = "FencedSignal";
  }
}

/** Whether a tRPC error is the coordinator's `FENCED` answer. */
export function isFenced(error: unknown): boolean {
  if (!(error instanceof TRPCClientError)) return false;
  const data = error.data as { reason?: string; code?: string } | undefined;
  return data?.reason === "FENCED";
}

/** A plain HTTP route (artifact bytes) answered with an error status. */
export class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "HttpStatusError";
  }
}

/** Connection errors raised before a request is sent: the coordinator cannot have acted on it. */
const NOT_SENT = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);

/**
 * Whether a failed call never reached the coordinator (no connection could be made), so nothing
 * it asked for was applied. Looks through the error's causes (tRPC wraps the network error).
 */
export function neverReached(error: unknown): boolean {
  for (let cause = error, depth = 0; cause instanceof Error && depth < 5; depth++) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (typeof code === "string" && NOT_SENT.has(code)) return true;
    cause = cause.cause;
  }
  return false;
}

/**
 * Network blips and restarts are retried; answers from the coordinator are not, except 5xx.
 * A request that ran out its own time (`AbortSignal.timeout`) has spent its budget: not retried.
 */
export function isTransient(error: unknown): boolean {
  if (error instanceof HttpStatusError) return error.status >= 500;
  if (error instanceof Error && error.name === "TimeoutError") return false;
  if (!(error instanceof TRPCClientError)) return true;
  const code = (error.data as { code?: string } | undefined)?.code;
  return code === undefined || code === "INTERNAL_SERVER_ERROR" || code === "SERVICE_UNAVAILABLE" || code === "TIMEOUT";
}

export interface FencedWriteOptions {
  /**
   * Transient failures are retried until this moment (epoch ms, read before each retry): the
   * job's lease deadline, so a coordinator outage shorter than the lease loses nothing. A
   * deadline of 0 stops the retries (the runner was silenced).
   */
  deadline?: () => number;
  /** Without a deadline: tries in all, the first one included. @defaultValue {@link WRITE_TRIES} */
  tries?: number;
  signal?: AbortSignal;
}

/**
 * Runs one write the factory makes about a job. `FENCED` becomes {@link FencedSignal} at once;
 * transient failures are retried {@link writeRetryDelay} apart, until `deadline` when one is
 * given (never sleeping past it), else for {@link WRITE_TRIES} tries, before they are thrown.
 */
export async function fencedWrite<T>(
  jobId: string,
  write: () => Promise<T>,
  opts: FencedWriteOptions = {},
): Promise<T> {
  const tries = opts.tries ?? WRITE_TRIES;
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      if (error instanceof FencedSignal) throw error;
      if (isFenced(error)) throw new FencedSignal(jobId);
      if (!isTransient(error) || opts.signal?.aborted) throw error;
      let delay = writeRetryDelay(attempt);
      if (opts.deadline) {
        const left = opts.deadline() - Date.now();
        if (left <= 0) throw error;
        delay = Math.min(delay, left);
      } else if (attempt >= tries) throw error;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
