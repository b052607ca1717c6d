import {
  FeedInput,
  type FeedItem,
  type JobEvent,
  JobCancelInput,
  JobCreateInput,
  JobDecisionInput,
  JobEventsInput,
  JobListInput,
  JobRef,
  JobRetryInput,
  JobWatchInput,
  isTerminalStage,
} from "@gigafactory/schema";
import { tracked } from "@trpc/server";
import { productFor, router, serviceProcedure } from "../../trpc/trpc.js";

/** How long a subscription sleeps without a wake-up before it re-reads the database anyway. */
const RECHECK_MS = 5_000;
/** How long `watch` waits for a reserved but not yet written event before it moves past it. */
const GAP_WAIT_MS = 5_000;
const GAP_RECHECK_MS = 50;

export const jobsRouter = router({
  create: serviceProcedure
    .input(JobCreateInput)
    .mutation(({ ctx, input }) => ctx.services.jobs.create(ctx.principal.productId, input)),
  get: serviceProcedure
    .input(JobRef)
    .query(({ ctx, input }) => ctx.services.jobs.get(ctx.principal.productId, input.jobId)),
  list: serviceProcedure
    .input(JobListInput)
    .query(({ ctx, input: { productId, ...query } }) =>
      ctx.services.jobs.list(productFor(ctx.principal, productId), query),
    ),
  cancel: serviceProcedure
    .input(JobCancelInput)
    .mutation(({ ctx, input }) => ctx.services.jobs.cancel(ctx.principal.productId, input.jobId, input.reason)),
  retry: serviceProcedure
    .input(JobRetryInput)
    .mutation(({ ctx, input }) => ctx.services.jobs.retry(ctx.principal.productId, input.jobId)),
  approve: serviceProcedure
    .input(JobDecisionInput)
    .mutation(({ ctx, input }) => ctx.services.jobs.approve(ctx.principal.productId, input.jobId, input.note)),
  reject: serviceProcedure
    .input(JobDecisionInput)
    .mutation(({ ctx, input }) => ctx.services.jobs.reject(ctx.principal.productId, input.jobId, input.note)),
  runs: serviceProcedure
    .input(JobRef)
    .query(({ ctx, input }) => ctx.services.jobs.runs(ctx.principal.productId, input.jobId)),
  events: serviceProcedure
    .input(JobEventsInput)
    .query(({ ctx, input }) =>
      ctx.services.jobs.events(ctx.principal.productId, input.jobId, input.afterSeq, input.limit),
    ),

  /**
   * One job's events, resumable: subscribe, backfill after the last id seen, then stream.
   * Ends once the job is in a final stage and every event has been sent.
   */
  watch: serviceProcedure.input(JobWatchInput).subscription(async function* ({ ctx, input, signal }) {
    const stop = signal ?? new AbortController().signal;
    const { jobs, notifier } = ctx.services;
    const wakeUps = notifier.job(input.jobId, stop);
    let last = Number(input.lastEventId ?? 0);
    let gapSince: number | undefined;
    while (!stop.aborted) {
      const job = await jobs.get(ctx.principal.productId, input.jobId);
      const page = await jobs.events(ctx.principal.productId, input.jobId, last, 500);
      let atGap = false;
      for (const event of page.items) {
        // seqs are reserved before their events are inserted, so concurrent appends can land out of
        // order: wait for a missing seq rather than run past it (bounded, in case its writer died)
        if (event.seq !== last + 1) {
          gapSince ??= Date.now();
          if (Date.now() - gapSince < GAP_WAIT_MS) {
            atGap = true;
            break;
          }
        }
        gapSince = undefined;
        yield tracked(String(event.seq), event as JobEvent);
        last = event.seq;
      }
      if (atGap) {
        await wakeUps.next(GAP_RECHECK_MS);
        continue;
      }
      if (page.items.length === 500) continue;
      if (isTerminalStage(job.stage)) {
        if (job.eventSeq <= last) return;
        // its last events are reserved but not written yet (or their writer died): wait, bounded
        gapSince ??= Date.now();
        if (Date.now() - gapSince >= GAP_WAIT_MS) return;
        await wakeUps.next(GAP_RECHECK_MS);
        continue;
      }
      await wakeUps.next(RECHECK_MS);
    }
  }),

  /** Every event of the product as it happens, for dashboards. */
  feed: serviceProcedure.input(FeedInput).subscription(async function* ({ ctx, signal }) {
    const stop = signal ?? new AbortController().signal;
    const notices = ctx.services.notifier.product(ctx.principal.productId, stop);
    while (!stop.aborted) {
      for (const notice of await notices.next(RECHECK_MS)) {
        if (notice.kind !== "event") continue;
        const { event } = notice;
        const stage = typeof event.data.stage === "string" ? event.data.stage : undefined;
        const item = {
          jobId: event.jobId,
          seq: event.seq,
          type: event.type,
          at: event.at,
          ...(stage ? { stage } : {}),
        } as FeedItem;
        yield tracked(`${event.jobId}:${event.seq}`, item);
      }
    }
  }),
});
