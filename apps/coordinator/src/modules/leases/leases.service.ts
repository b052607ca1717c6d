import type {
  ActiveStage,
  Checkpoint,
  CompleteInput as CompleteSchema,
  EventType,
  Job,
  JobEvent,
  NewEvent,
  TenantFence,
} from "@gigafactory/schema";
import { isActiveStage } from "@gigafactory/schema";
import type { z } from "zod";
import { FencedError, PreconditionError } from "../../errors.js";
import { failpoint } from "../../failpoints.js";
import type { EventLog } from "../events/event-log.js";
import type { FencedChange, JobsRepository } from "../jobs/jobs.repository.js";
import type { OutcomesService } from "../jobs/outcomes.service.js";
import type { RunEnd, RunsRepository } from "../runs/runs.repository.js";
import { afterFailedAttempt, backoffMs } from "./retry-policy.js";

type Completion = Omit<z.output<typeof CompleteSchema>, "jobId" | "epoch" | "factoryId">;

/** How an attempt ends, decided from the job as read; applied only while its cancel flag is unchanged. */
type AttemptEnd = Omit<Extract<FencedChange, { kind: "end" }>, "kind" | "cancelRequested">;

/**
 * Every write a factory makes about a job it holds. Each is ONE update whose filter is the
 * fence (holder, epoch, active stage); a write that matches nothing is `FENCED` and changed nothing.
 */
export class LeasesService {
  constructor(
    private readonly deps: {
      jobs: JobsRepository;
      runs: RunsRepository;
      events: EventLog;
      outcomes: OutcomesService;
      leaseTtlMs: number;
      backoff: { baseMs: number; maxMs: number };
    },
  ) {}

  async renew(fence: TenantFence): Promise<{ expiresAt: Date; cancelRequested: boolean }> {
    const expiresAt = new Date(Date.now() + this.deps.leaseTtlMs);
    const job = await this.deps.jobs.applyFenced(fence, { kind: "renew", expiresAt });
    if (!job) throw new FencedError(fence.jobId, fence.epoch);
    return { expiresAt, cancelRequested: job.cancelRequested };
  }

  async advance(fence: TenantFence, to: ActiveStage): Promise<Job> {
    const now = new Date();
    const job = await this.deps.jobs.applyFenced(fence, { kind: "advance", to, now });
    if (!job) {
      const current = await this.assertHeld(fence);
      // a retried call whose first try was applied (its answer lost on the way) is not an error
      if (current.stage === to) return current;
      throw new PreconditionError(`job ${fence.jobId} cannot move to ${to} from its current stage`, { to });
    }
    await this.deps.events.record(job, "stage", { stage: to });
    return job;
  }

  /** With a `requestId`, a retry of an applied batch is answered with its events and appends nothing. */
  async appendEvents(fence: TenantFence, events: NewEvent[], requestId?: string): Promise<JobEvent[]> {
    const written = await this.deps.events.appendFenced(fence, events, requestId ? { requestId } : undefined);
    if (!written) throw new FencedError(fence.jobId, fence.epoch);
    return written.events;
  }

  /** With a `requestId`, a retry of an applied checkpoint changes nothing and records no second event. */
  async checkpoint(fence: TenantFence, checkpoint: Checkpoint, requestId?: string): Promise<void> {
    const now = new Date();
    if (requestId) {
      // the checkpoint and its event's seq in one update, recorded under the request id
      const written = await this.deps.events.appendFenced(fence, [{ type: "checkpoint", data: { ...checkpoint } }], {
        requestId,
        set: { checkpoint, updatedAt: now },
      });
      if (!written) throw new FencedError(fence.jobId, fence.epoch);
      return;
    }
    const job = await this.deps.jobs.applyFenced(fence, { kind: "checkpoint", checkpoint, now });
    if (!job) throw new FencedError(fence.jobId, fence.epoch);
    await this.deps.events.record(job, "checkpoint", { ...checkpoint });
  }

  /**
   * Ends the attempt. Accepted at most once per epoch (the update clears the holder);
   * the job moves on by the lifecycle table and the retry policy.
   */
  async complete(fence: TenantFence, input: Completion): Promise<Job> {
    const now = new Date();
    let backoff = 0;
    // decided from a read, applied only if the cancel flag is still what was read: a cancel that
    // lands in between makes the update miss, and the next round decides again
    const runEnd = {
      result: input.result,
      insights: input.insights,
      ...(input.exit ? { exit: input.exit } : {}),
      ...(input.verifyResult ? { verifyResult: input.verifyResult } : {}),
      ...(input.reason ? { reason: input.reason } : {}),
    };
    const { job, current } = await this.endAttempt(fence, runEnd, (current) => {
      const next = this.nextStage(current, input);
      backoff = next.stage === "inbox" ? backoffMs(current.attempt, this.deps.backoff) : 0;
      return {
        to: next.stage,
        set: {
          lastResult: input.result,
          awaitingApproval: next.awaitingApproval,
          updatedAt: now,
          ...(next.stage === "inbox" ? { queuedAt: now, notBefore: new Date(now.getTime() + backoff) } : {}),
          ...(next.stage === "shipped" || next.stage === "failed" || next.stage === "cancelled"
            ? { endedAt: now }
            : {}),
          ...(input.reason ? { reason: input.reason } : {}),
        },
      };
    });
    failpoint("complete.afterMove");
    await this.deps.runs.finish(current.lease.runId, { ...runEnd, endedAt: now });
    await this.deps.events.record(job, LeasesService.completionEvent(job), {
      result: input.result,
      attempt: current.attempt,
      ...(job.stage === "inbox" ? { retryInMs: backoff } : {}),
      ...(input.reason ? { reason: input.reason } : {}),
    });
    await this.deps.outcomes.settle(job);
    return job;
  }

  /** Gives the job back without an attempt penalty (drain); keeps a checkpoint to resume from. */
  async release(fence: TenantFence, opts: { checkpoint?: Checkpoint | undefined; reason: string }): Promise<Job> {
    const now = new Date();
    const kept = opts.checkpoint ? { checkpoint: opts.checkpoint } : {};
    // a job whose cancel was requested is not given back: it ends cancelled
    const { job, current } = await this.endAttempt(fence, { result: "released", reason: opts.reason }, (current) =>
      current.cancelRequested
        ? { to: "cancelled", set: { lastResult: "released", endedAt: now, updatedAt: now, ...kept } }
        : {
            to: "inbox",
            set: { lastResult: "released", queuedAt: now, notBefore: now, updatedAt: now, ...kept },
            refundAttempt: true,
          },
    );
    failpoint("release.afterMove");
    await this.deps.runs.finish(current.lease.runId, { result: "released", endedAt: now, reason: opts.reason });
    await this.deps.events.record(job, job.stage === "cancelled" ? "cancelled" : "released", {
      reason: opts.reason,
      ...kept,
    });
    await this.deps.outcomes.settle(job);
    return job;
  }

  private static completionEvent(job: Job): EventType {
    if (job.awaitingApproval) return "approval_requested";
    if (job.stage === "inbox") return "requeued";
    if (job.stage === "shipped") return "completed";
    return job.stage === "cancelled" ? "cancelled" : "failed";
  }

  /**
   * Reads the held job, lets `decide` pick how the attempt ends, and applies it only while the
   * fence holds and `cancelRequested` is unchanged; retries when only the flag moved.
   */
  private async decideAndMove(
    fence: TenantFence,
    decide: (current: Job) => AttemptEnd,
  ): Promise<{ job: Job; current: Job }> {
    for (let round = 0; round < 5; round++) {
      const current = await this.assertHeld(fence);
      const job = await this.deps.jobs.applyFenced(fence, {
        kind: "end",
        ...decide(current),
        cancelRequested: current.cancelRequested,
      });
      if (job) return { job, current };
    }
    throw new FencedError(fence.jobId, fence.epoch);
  }

  private nextStage(
    job: Job,
    input: Completion,
  ): { stage: "shipped" | "review" | "inbox" | "failed" | "cancelled"; awaitingApproval: boolean } {
    // a requested cancel wins over the attempt's own outcome
    if (input.result === "cancelled" || job.cancelRequested) return { stage: "cancelled", awaitingApproval: false };
    if (input.result === "success") {
      // human review parks the job, without a lease, until someone approves or rejects it
      if (job.review.mode === "human") return { stage: "review", awaitingApproval: true };
      return { stage: "shipped", awaitingApproval: false };
    }
    return { stage: afterFailedAttempt(job.attempt, job.maxAttempts), awaitingApproval: false };
  }

  /** The job if `fence` still holds it, else FENCED. */
  private async assertHeld(fence: TenantFence): Promise<Job> {
    const job = await this.deps.jobs.findHeld(fence);
    if (!job) throw new FencedError(fence.jobId, fence.epoch);
    return job;
  }

  /**
   * An attempt's end was refused as FENCED: ends the fence's run if nothing else did. When the
   * job is unheld at the same epoch, this holder's own end was applied (a retry whose first try's
   * answer, and maybe its run update, were lost): the run gets the job's `lastResult`. When a newer
   * epoch took the job (reaped, or a claim undone) its writes were rejected: `fenced`.
   */
  private async endFencedRun(fence: TenantFence, own: Omit<RunEnd, "endedAt">): Promise<void> {
    const job = await this.deps.jobs.find(fence.productId, fence.jobId);
    if (!job) return;
    const now = new Date();
    if (job.lease.epoch === fence.epoch && job.lease.holder === null && !isActiveStage(job.stage)) {
      // the retried request is the one applied: what it says about the run holds, when the results agree
      if (job.lastResult)
        await this.deps.runs.finishEpoch(fence, {
          ...(job.lastResult === own.result ? own : {}),
          result: job.lastResult,
          endedAt: job.updatedAt,
        });
    } else if (job.lease.epoch > fence.epoch) {
      await this.deps.runs.finishEpoch(fence, {
        result: "fenced",
        endedAt: now,
        reason: `its lease (epoch ${fence.epoch}) was taken back; the job is at epoch ${job.lease.epoch}`,
      });
    }
  }

  /** {@link decideAndMove}, ending the fence's run when the move is refused as FENCED. */
  private async endAttempt(
    fence: TenantFence,
    own: Omit<RunEnd, "endedAt">,
    decide: (current: Job) => AttemptEnd,
  ): Promise<{ job: Job; current: Job }> {
    try {
      return await this.decideAndMove(fence, decide);
    } catch (error) {
      if (error instanceof FencedError) await this.endFencedRun(fence, own).catch(() => undefined);
      throw error;
    }
  }
}
