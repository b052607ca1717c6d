import {
  type Job,
  JobCreateInput,
  type TrackerEchoOutput,
  parseTrackerRef,
  trackerIdempotencyKey,
} from "@gigafactory/schema";
import { ForbiddenError, InvalidInputError, NotFoundError, PreconditionError } from "../../errors.js";
import type { Logger } from "../../logger.js";
import type { JobsService } from "../jobs/jobs.service.js";
import type { PolicyService } from "../policy/policy.service.js";
import { echoComment, echoStateOf } from "./echo-comment.js";
import { jobInputFromItem } from "./label-mapping.js";
import { type TrackerAdapter, TrackerError } from "./tracker-adapter.js";
import type { DeliveryDoc, TrackerRepository } from "./tracker.repository.js";

export interface TrackerTimings {
  /** How long a coordinator holds a delivery or an echo it is working on. */
  holdMs: number;
  /** Echo retry backoff: `baseMs * 2^(attempts)`, at most `maxMs`, at most `maxAttempts` tries. */
  echoBackoff: { baseMs: number; maxMs: number; maxAttempts: number };
  /** How many owed echoes one pass queues and how many it sends, at most. */
  outboxBatch: number;
}

/**
 * Work in from trackers, outcomes back: imports items as jobs (idempotent on the item), runs
 * webhook deliveries, and echoes job states through the durable outbox (tracker.repository.ts).
 * The tracker is downstream: nothing here changes a job's stage except a cancel on close.
 */
export class TrackerService {
  constructor(
    private readonly deps: {
      repo: TrackerRepository;
      jobs: JobsService;
      policy: PolicyService;
      adapters: readonly TrackerAdapter[];
      timings: TrackerTimings;
      logger: Logger;
      dashboardUrl?: string | undefined;
    },
  ) {}

  private adapterFor(ref: string) {
    const parsed = parseTrackerRef(ref);
    if (!parsed) throw new InvalidInputError("ref", "must be github:owner/repo#123 or items:<id>");
    const adapter = this.deps.adapters.find((candidate) => candidate.kind === parsed.kind);
    if (!adapter) throw new PreconditionError(`no ${parsed.kind} tracker is configured on this coordinator`);
    return { adapter, parsed };
  }

  /**
   * The job for a tracker item: created from it the first time, the same job every time after
   * (the idempotency key is derived from the reference, so a redelivered webhook or a second
   * import never makes a second job, even after the first one ended: retry that one instead).
   */
  async importItem(productId: string, ref: string): Promise<{ job: Job; created: boolean }> {
    const existing = await this.findJob(productId, ref);
    if (existing) return { job: existing, created: false };
    const { adapter, parsed } = this.adapterFor(ref);
    let item: Awaited<ReturnType<TrackerAdapter["fetchItem"]>>;
    try {
      item = await adapter.fetchItem(parsed);
    } catch (error) {
      if (error instanceof TrackerError && error.status === 404) throw new NotFoundError("tracker item", ref);
      throw new PreconditionError(`the tracker did not answer: ${(error as Error).message}`, { ref });
    }
    const { input, problems } = jobInputFromItem({ ...item, ref });
    if (problems.length)
      throw new InvalidInputError(
        "labels",
        problems.map((problem) => `${problem.label}: ${problem.message}`).join("; "),
      );
    const parsedInput = JobCreateInput.safeParse(input);
    if (!parsedInput.success)
      throw new InvalidInputError("item", parsedInput.error.issues.map((issue) => issue.message).join("; "));
    return this.deps.jobs.create(productId, parsedInput.data, { fromTracker: true });
  }

  /** The job imported from `ref`, if any. */
  async findJob(productId: string, ref: string): Promise<Job | undefined> {
    const { items } = await this.deps.jobs.list(productId, { trackerItemId: ref, limit: 20 });
    return items.find((job) => job.idempotencyKey === trackerIdempotencyKey(ref));
  }

  /** The item was closed: its job is cancelled if no factory started it; a started job runs on. */
  async closed(productId: string, ref: string): Promise<Job | undefined> {
    const job = await this.findJob(productId, ref);
    if (job?.stage !== "inbox") return job;
    return this.deps.jobs.cancel(productId, job._id, "the tracker item was closed");
  }

  /**
   * The polling safety net: imports every triggered item the polled adapters list (an item
   * already imported costs one read, no call to the tracker). A failing tracker is logged and
   * skipped; one bad item does not stop the others.
   */
  async poll(productId: string, adapters: readonly TrackerAdapter[]): Promise<{ listed: number; created: number }> {
    let listed = 0;
    let created = 0;
    for (const adapter of adapters) {
      let items: Awaited<ReturnType<TrackerAdapter["listTriggered"]>>;
      try {
        items = await adapter.listTriggered();
      } catch (error) {
        this.deps.logger.warn({ err: error, tracker: adapter.kind }, "tracker poll failed");
        continue;
      }
      listed += items.length;
      for (const item of items) {
        try {
          if ((await this.importItem(productId, item.ref)).created) created++;
        } catch (error) {
          this.deps.logger.warn({ err: error, ref: item.ref }, "polled item not imported");
        }
      }
    }
    return { listed, created };
  }

  // ---------------------------------------------------------------- webhook deliveries

  /** Runs one queued delivery (this one when given, else any), held so no other coordinator does too. */
  async runDelivery(id?: string): Promise<boolean> {
    const now = new Date();
    const delivery = await this.deps.repo.takeDelivery(now, new Date(now.getTime() + this.deps.timings.holdMs), id);
    if (!delivery) return false;
    await this.perform(delivery);
    return true;
  }

  private async perform(delivery: DeliveryDoc): Promise<void> {
    const { repo, logger } = this.deps;
    const work = delivery.work;
    if (!work) return repo.finishDelivery(delivery._id, "ignored");
    try {
      if (work.kind === "import") await this.importItem(work.productId, work.ref);
      else await this.closed(work.productId, work.ref);
      await repo.finishDelivery(delivery._id, "done");
    } catch (error) {
      const message = (error as Error).message;
      logger.warn({ err: error, delivery: delivery._id, ref: work.ref }, "webhook delivery failed");
      // a refusal (bad labels, policy, missing item) will not change by trying again
      const refused =
        error instanceof InvalidInputError || error instanceof NotFoundError || error instanceof ForbiddenError;
      if (refused || delivery.attempts >= 5) await repo.finishDelivery(delivery._id, "failed", message);
      else await repo.deferDelivery(delivery._id, new Date(Date.now() + this.backoff(delivery.attempts)), message);
    }
  }

  // ---------------------------------------------------------------- echo

  /**
   * Echoes the job's state now (`gf tracker echo`): labels and a comment, unless the tracker
   * already shows this state. A tracker failure is an error to the caller; the job is untouched.
   */
  async echo(productId: string, jobId: string): Promise<TrackerEchoOutput> {
    const job = await this.deps.jobs.get(productId, jobId);
    if (!job.trackerItemId) throw new PreconditionError(`job ${jobId} has no tracker item`);
    const ref = job.trackerItemId;
    const state = echoStateOf(job.stage);
    if (!state) return { jobId, ref, state, sent: false, reason: `stage ${job.stage} is not echoed` };
    const outbox = await this.deps.repo.findEcho(jobId);
    if (outbox?.echoed === state) return { jobId, ref, state, sent: false, reason: "unchanged since the last echo" };
    try {
      await this.send(job, state);
    } catch (error) {
      throw new PreconditionError(`echo failed: ${(error as Error).message}`, { jobId, ref });
    }
    return { jobId, ref, state, sent: true };
  }

  private async send(job: Job, state: NonNullable<ReturnType<typeof echoStateOf>>): Promise<void> {
    const ref = job.trackerItemId ?? "";
    const { adapter, parsed } = this.adapterFor(ref);
    const runs = await this.deps.jobs.runs(job.productId, job._id);
    await adapter.setState(parsed, state);
    await adapter.comment(parsed, echoComment(job, runs, state, this.deps.dashboardUrl));
    await this.deps.repo.echoed({ _id: job._id, productId: job.productId, ref }, state, new Date());
  }

  /**
   * One outbox pass: owes an echo for every changed tracker job of a product with `autoEcho`,
   * then delivers what is due. A failed echo is retried with backoff and never touches the job.
   */
  async outboxPass(): Promise<{ queued: number; sent: number; failed: number }> {
    const { repo, timings, logger } = this.deps;
    let queued = 0;
    const products = await this.deps.policy.autoEchoProducts();
    if (products.length) {
      const now = new Date();
      for (const job of await repo.owingEcho(products, timings.outboxBatch)) {
        const state = echoStateOf(job.stage);
        if (!state || !job.trackerItemId) continue;
        await repo.want({ _id: job._id, productId: job.productId, ref: job.trackerItemId }, state, now);
        queued++;
      }
    }
    let sent = 0;
    let failed = 0;
    for (let round = 0; round < timings.outboxBatch; round++) {
      const now = new Date();
      const due = await repo.takeDueEcho(now, new Date(now.getTime() + timings.holdMs));
      if (!due) break;
      try {
        const job = await this.deps.jobs.get(due.productId, due._id);
        const state = echoStateOf(job.stage);
        if (state && state !== due.echoed) await this.send(job, state);
        else await repo.echoed(due, due.echoed ?? due.wanted ?? "in_progress", now);
        sent++;
      } catch (error) {
        failed++;
        const last = due.attempts + 1 >= timings.echoBackoff.maxAttempts;
        logger.warn({ err: error, jobId: due._id, ref: due.ref, attempts: due.attempts + 1 }, "tracker echo failed");
        await repo.echoFailed(
          due._id,
          (error as Error).message,
          last ? null : new Date(Date.now() + this.backoff(due.attempts)),
        );
      }
    }
    return { queued, sent, failed };
  }

  private backoff(attempts: number): number {
    const { baseMs, maxMs } = this.deps.timings.echoBackoff;
    return Math.min(maxMs, baseMs * 2 ** attempts);
  }
}
