import { type Job, type JobEvent, isTerminalStage } from "@gigafactory/schema";
import { type TrackedEnvelope, tracked } from "@trpc/server";
import type { StreamOptions } from "../../options.js";
import type { NoticeSource } from "../events/notifier.js";

/** What `watch` reads: one job and a page of its events, within a product (the jobs service). */
export interface JobEventsReader {
  get(productId: string, jobId: string): Promise<Pick<Job, "stage" | "eventSeq">>;
  events(productId: string, jobId: string, afterSeq: number, limit: number): Promise<{ items: JobEvent[] }>;
}

export interface WatchDeps {
  jobs: JobEventsReader;
  notifier: Pick<NoticeSource, "job">;
  options: Pick<StreamOptions, "recheckMs" | "gapWaitMs" | "gapRecheckMs" | "watchPageSize">;
}

export interface WatchArgs {
  productId: string;
  jobId: string;
  /** The last `tracked` id the subscriber saw (an event seq); the stream resumes after it. */
  lastEventId?: string | null | undefined;
  signal?: AbortSignal | undefined;
}

/**
 * One job's events in seq order, resumable: subscribe to wake-ups first, then read after the
 * last id seen, then wait for a wake-up (or `recheckMs`) and read again. Each event is yielded
 * once, tracked by its seq. Ends once the job is in a final stage and every event has been sent,
 * or when `signal` aborts; either way its wake-up subscription is dropped.
 */
export async function* watchJob(deps: WatchDeps, args: WatchArgs): AsyncGenerator<TrackedEnvelope<JobEvent>> {
  const { jobs, notifier, options } = deps;
  const { productId, jobId } = args;
  // our own signal, so the subscription is dropped when the stream ends by itself too
  const done = new AbortController();
  const stop = args.signal ? AbortSignal.any([args.signal, done.signal]) : done.signal;
  const wakeUps = notifier.job(jobId, stop);
  let last = Number(args.lastEventId ?? 0);
  let gapSince: number | undefined;
  try {
    while (!stop.aborted) {
      const job = await jobs.get(productId, jobId);
      const page = await jobs.events(productId, jobId, last, options.watchPageSize);
      let atGap = false;
      for (const event of page.items) {
        // seqs are reserved before their events are inserted, so concurrent appends can land out of
        // order: wait for a missing seq rather than run past it (bounded, in case its writer died)
        if (event.seq !== last + 1) {
          gapSince ??= Date.now();
          if (Date.now() - gapSince < options.gapWaitMs) {
            atGap = true;
            break;
          }
        }
        gapSince = undefined;
        yield tracked(String(event.seq), event);
        last = event.seq;
      }
      if (atGap) {
        await wakeUps.next(options.gapRecheckMs);
        continue;
      }
      if (page.items.length === options.watchPageSize) continue;
      if (isTerminalStage(job.stage)) {
        if (job.eventSeq <= last) return;
        // its last events are reserved but not written yet (or their writer died): wait, bounded
        gapSince ??= Date.now();
        if (Date.now() - gapSince >= options.gapWaitMs) return;
        await wakeUps.next(options.gapRecheckMs);
        continue;
      }
      await wakeUps.next(options.recheckMs);
    }
  } finally {
    done.abort();
  }
}
