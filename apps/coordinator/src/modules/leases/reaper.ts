import { type Job, type Lock, isActiveStage } from "@gigafactory/schema";
import type { FleetMetrics } from "../metrics/fleet-metrics.js";
import { failpoint } from "../../failpoints.js";
import type { Logger } from "../../logger.js";
import { PeriodicTask } from "../../periodic-task.js";
import type { EventLog } from "../events/event-log.js";
import type { FactoriesRepository } from "../factories/factories.repository.js";
import type { JobsRepository } from "../jobs/jobs.repository.js";
import type { Recovery } from "../runs/recovery.js";
import type { OutcomesService } from "../jobs/outcomes.service.js";
import type { LocksRepository } from "../locks/locks.repository.js";
import type { RunsRepository } from "../runs/runs.repository.js";
import { afterFailedAttempt, backoffMs } from "./retry-policy.js";

/** How many locks the stale-lock backstop reads at a time (it reads them all, page by page). */
const LOCK_PAGE = 500;

/**
 * Returns jobs whose lease ran out to the inbox (or fails them when no attempt is left),
 * bumping the epoch so the old holder is fenced, marking its run `lost`, freeing its lock.
 * Runs in every coordinator every `reapEvery` (options.ts); each move is conditional, so two reapers agree.
 * It also runs the follow-ups that a failed request left owed (see `OutcomesService.catchUp`).
 */
export class Reaper {
  private readonly task: PeriodicTask;

  constructor(
    private readonly deps: {
      /** Counts leases taken back (`modules/metrics`). */
      metrics?: Pick<FleetMetrics, "leaseLost">;
      jobs: JobsRepository;
      runs: RunsRepository;
      locks: LocksRepository;
      /** The factories service, so marking factories gone also drops them from its claim cache. */
      factories: Pick<FactoriesRepository, "markGone">;
      events: EventLog;
      outcomes: OutcomesService;
      /** Fills the holes a lost epoch left (`modules/runs/recovery.ts`). */
      recovery: Pick<Recovery, "fillHoles">;
      leaseTtlMs: number;
      /** Sweep cadence: `reapEvery(leaseTtlMs)` in options.ts. */
      everyMs: number;
      /** `lease.settleGraceMs` in options.ts. */
      settleGraceMs: number;
      factoryGoneAfterMs: number;
      backoff: { baseMs: number; maxMs: number };
      logger: Logger;
    },
  ) {
    this.task = new PeriodicTask({
      everyMs: deps.everyMs,
      run: () => this.sweep(),
      logger: deps.logger,
      failure: "reaper sweep failed",
    });
  }

  start(): void {
    this.task.start();
  }

  close(): Promise<void> {
    return this.task.close();
  }

  /** One pass; returns how many jobs it took back. */
  async sweep(now = new Date()): Promise<number> {
    await this.deps.factories.markGone(new Date(now.getTime() - this.deps.factoryGoneAfterMs));
    let reaped = 0;
    for (const job of await this.deps.jobs.expired(now, 200)) {
      // one job that cannot be reaped must not keep the others (or the catch-up below) waiting
      try {
        if (await this.reap(job, now)) reaped++;
      } catch (error) {
        this.deps.logger.error({ err: error, jobId: job._id }, "reaping a job failed");
      }
    }
    await this.cancelRequestedIdle(now);
    await this.catchUpSettles(now);
    await this.releaseStaleLocks();
    return reaped;
  }

  /**
   * Backstop: a job whose cancel was requested but that nobody holds (given back in a race
   * with the cancel) is cancelled here rather than left unclaimable in the inbox.
   */
  private async cancelRequestedIdle(now: Date): Promise<void> {
    const idle = await this.deps.jobs.idleCancelRequested(100);
    for (const job of idle) {
      const moved = await this.deps.jobs.move(job._id, {
        from: job.stage,
        to: "cancelled",
        where: { unheld: true, cancelRequested: true },
        set: { awaitingApproval: false, endedAt: now, updatedAt: now },
      });
      if (!moved) continue;
      await this.deps.events.record(moved, "cancelled", { reason: moved.reason ?? "cancel requested" });
      await this.deps.outcomes.settle(moved);
    }
  }

  /**
   * Backstop: follow-ups owed for longer than `settleGraceMs` (the request that owed them
   * failed, or its coordinator died) are run here. Each is idempotent, so a request that is only
   * slow does no harm.
   */
  private async catchUpSettles(now: Date): Promise<void> {
    const owed = await this.deps.jobs.settleOwed(new Date(now.getTime() - this.deps.settleGraceMs), 100);
    for (const job of owed) {
      try {
        await this.deps.outcomes.catchUp(job);
        this.deps.logger.warn(
          { jobId: job._id, stage: job.stage, owedSince: job.settle?.owedSince },
          "caught up on follow-ups",
        );
      } catch (error) {
        this.deps.logger.error({ err: error, jobId: job._id }, "catching up on a job's follow-ups failed");
      }
    }
  }

  /**
   * Backstop: a lock whose job no longer holds it at the lock's epoch (the coordinator died
   * between moving the job and freeing the lock) is freed, so the lock name is usable again.
   * Every lock is looked at, page by page in `_id` order ({@link LOCK_PAGE} at a time).
   */
  private async releaseStaleLocks(): Promise<void> {
    let after: string | undefined;
    for (;;) {
      const locks = await this.deps.locks.page(after, LOCK_PAGE);
      if (locks.length === 0) return;
      await this.releaseStale(locks);
      if (locks.length < LOCK_PAGE) return;
      after = locks.at(-1)?._id;
    }
  }

  private async releaseStale(locks: Lock[]): Promise<void> {
    const holders = await this.deps.jobs.leaseStates([...new Set(locks.map((lock) => lock.jobId))]);
    const byId = new Map(holders.map((job) => [job._id, job]));
    for (const lock of locks) {
      const job = byId.get(lock.jobId);
      if (job && isActiveStage(job.stage) && job.lease.epoch === lock.epoch) continue;
      // conditional on the epoch read: a claim that just took the lock over is left alone
      try {
        if (await this.deps.locks.free(lock))
          this.deps.logger.warn({ lock: lock.name, jobId: lock.jobId, epoch: lock.epoch }, "freed a stale lock");
      } catch (error) {
        this.deps.logger.error({ err: error, lock: lock.name }, "freeing a stale lock failed");
      }
    }
  }

  private async reap(job: Job, now: Date): Promise<boolean> {
    const to = job.cancelRequested ? "cancelled" : afterFailedAttempt(job.attempt, job.maxAttempts);
    const backoff = to === "inbox" ? backoffMs(job.attempt, this.deps.backoff) : 0;
    const reason = `lease of ${job.lease.holder} (epoch ${job.lease.epoch}) expired`;
    const moved = await this.deps.jobs.reap(job, {
      to,
      now,
      set: to === "inbox" ? { queuedAt: now, notBefore: new Date(now.getTime() + backoff) } : { endedAt: now, reason },
    });
    if (!moved) return false;
    this.deps.metrics?.leaseLost();
    failpoint("reap.afterMove");
    await this.deps.runs.finish(job.lease.runId, { result: "lost", endedAt: now, reason });
    await this.deps.events.record(moved, "lost", {
      factoryId: job.lease.holder,
      epoch: job.lease.epoch,
      stage: to,
      reason,
    });
    this.deps.logger.warn({ jobId: job._id, factoryId: job.lease.holder, epoch: job.lease.epoch, to }, "lease expired");
    // seqs the lost epoch reserved and never wrote (its coordinator died mid-append) stay empty for
    // good now that its writes are fenced: fill them, so the job's events have no hole
    await this.deps.recovery.fillHoles(moved).catch((error: unknown) => {
      this.deps.logger.error({ err: error, jobId: job._id }, "filling the lost epoch's holes failed");
    });
    await this.deps.outcomes.settle(moved);
    return true;
  }
}
