import { type Job, type JobEvent, isTerminalStage } from "@gigafactory/schema";
import type { GigafactoryClient } from "../client.js";
import { streamEvents } from "./stream-events.js";

export interface WaitForJobOptions {
  /** Stops waiting; the promise then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Called with every event of the job, in order, as it arrives. */
  onEvent?: (event: JobEvent) => void;
  /** Deliver events after this seq only (e.g. those not yet shown). @default 0 */
  afterSeq?: number;
}

/** How long to wait before watching again when a watch ended while the job was not final. */
const REWATCH_MS = [250, 500, 1_000, 2_000, 5_000] as const;

/**
 * Follows a job's events until it is shipped, failed or cancelled, and returns the final job.
 * A job parked for human review keeps it waiting until someone approves or rejects it.
 */
export async function waitForJob(client: GigafactoryClient, jobId: string, opts: WaitForJobOptions = {}): Promise<Job> {
  let last = opts.afterSeq ?? 0;
  for (let rewatch = 0; ; rewatch++) {
    opts.signal?.throwIfAborted();
    for await (const event of streamEvents(client, jobId, {
      afterSeq: last,
      ...(opts.signal ? { signal: opts.signal } : {}),
    })) {
      last = event.seq;
      rewatch = 0;
      opts.onEvent?.(event);
    }
    opts.signal?.throwIfAborted();
    // the watch ends once the job is final; anything else (a coordinator going away between
    // reconnects) is checked against the job itself before watching again
    const job = await client.trpc.jobs.get.query({ jobId }, opts.signal ? { signal: opts.signal } : undefined);
    if (isTerminalStage(job.stage) && job.eventSeq <= last) return job;
    await sleep(REWATCH_MS[Math.min(rewatch, REWATCH_MS.length - 1)] ?? 5_000, opts.signal);
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener("abort", abort);
      resolve();
    }
    function abort() {
      clearTimeout(timer);
      reject(signal?.reason);
    }
    signal?.addEventListener("abort", abort, { once: true });
  });
}
