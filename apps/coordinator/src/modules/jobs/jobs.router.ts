import {
  FeedInput,
  JobCancelInput,
  JobCreateInput,
  JobDecisionInput,
  JobEventsInput,
  JobEventsOutput,
  JobListInput,
  JobRef,
  JobRetryInput,
  JobRunsOutput,
  JobSealInput,
  JobWatchInput,
} from "@gigafactory/schema";
import { productFor, router, serviceProcedure } from "../../trpc/trpc.js";
import { productFeed } from "./feed-stream.js";
import { watchJob } from "./watch-stream.js";

// procedures that return whole jobs have no `.output()`: the jobs are the service's own typed
// documents, and a failed check after a write (create) would turn a success into an error
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
  seal: serviceProcedure
    .input(JobSealInput)
    .mutation(({ ctx, input }) => ctx.services.jobs.seal(ctx.principal.productId, input.jobId)),
  approve: serviceProcedure
    .input(JobDecisionInput)
    .mutation(({ ctx, input }) => ctx.services.jobs.approve(ctx.principal.productId, input.jobId, input.note)),
  reject: serviceProcedure
    .input(JobDecisionInput)
    .mutation(({ ctx, input }) => ctx.services.jobs.reject(ctx.principal.productId, input.jobId, input.note)),
  runs: serviceProcedure
    .input(JobRef)
    .output(JobRunsOutput)
    .query(({ ctx, input }) => ctx.services.jobs.runs(ctx.principal.productId, input.jobId)),
  events: serviceProcedure
    .input(JobEventsInput)
    .output(JobEventsOutput)
    .query(({ ctx, input }) =>
      ctx.services.jobs.events(ctx.principal.productId, input.jobId, input.afterSeq, input.limit),
    ),
  /** One job's events, resumable with `tracked(seq)`; ends once the job is final (see watch-stream.ts). */
  watch: serviceProcedure
    .input(JobWatchInput)
    .subscription(({ ctx, input, signal }) =>
      watchJob(
        { jobs: ctx.services.jobs, notifier: ctx.services.notifier, options: ctx.options.streams },
        { productId: ctx.principal.productId, ...input, signal },
      ),
    ),
  /** Every event of the product as it happens, for dashboards (see feed-stream.ts). */
  feed: serviceProcedure.input(FeedInput).subscription(({ ctx, input, signal }) =>
    productFeed(
      {
        events: ctx.services.feed,
        notifier: ctx.services.notifier,
        options: { ...ctx.options.streams, lookBackMs: ctx.options.notifier.lookBackMs },
      },
      { productId: ctx.principal.productId, lastEventId: input.lastEventId, signal },
    ),
  ),
});
