import { type Job, isTerminalStage } from "@gigafactory/schema";
import type { FleetMetrics } from "../metrics/fleet-metrics.js";
import { failpoint } from "../../failpoints.js";
import type { EventLog } from "../events/event-log.js";
import type { LocksRepository } from "../locks/locks.repository.js";
import type { JobsRepository } from "./jobs.repository.js";
import { doom, doomedBy, pendingDeps, settleParent } from "./settle-rules.js";

/**
 * What follows a stage change: the lock is freed, dependents are unblocked or failed,
 * a composite parent finishes when its last child does. One place for these rules
 * (decided in `settle-rules.ts`).
 *
 * Durable: the update that changes the stage also records that follow-ups are owed (the job's
 * `settle` marker, see `JobsRepository`), and every follow-up is idempotent (a `$pull`, or a
 * move or lock release conditional on what was read). The request runs them and drops the
 * marker; when it fails or its coordinator dies first, any coordinator's reaper finds the
 * marker and runs them again ({@link OutcomesService.catchUp}).
 */
export class OutcomesService {
  constructor(
    private readonly deps: {
      /** Counts finished jobs (`modules/metrics`). */
      metrics?: Pick<FleetMetrics, "jobFinished">;
      jobs: JobsRepository;
      locks: LocksRepository;
      events: EventLog;
      /**
       * How long a composite parent waits for a child admitted but not yet stored
       * (`lease.settleGraceMs` in options.ts, the same grace the reaper gives owed follow-ups).
       */
      parentGraceMs: number;
      /** Fills the event a crashed stage change reserved and ends its run (`Recovery`). */
      recovery?: { repair(job: Job): Promise<void> };
    },
  ) {}

  /** Call after any update that took a job out of an active stage: runs its follow-ups, then drops its marker. */
  async settle(job: Job): Promise<void> {
    // every move to a terminal stage is settled once by the request that made it: count it here
    if (isTerminalStage(job.stage)) this.deps.metrics?.jobFinished(job.stage);
    if (await this.settled(job)) await this.deps.jobs.clearSettle(job);
  }

  /**
   * Finishes what a failed request left (the reaper's backstop): the follow-ups `job` owes in the
   * stage it is in now, then drops its marker. A job a factory holds again owes nothing more: it
   * was given back to the inbox and claimed since, and its lock is the new lease's.
   */
  async catchUp(job: Job): Promise<void> {
    await this.deps.recovery?.repair(job);
    if (job.lease.holder === null) {
      // a parent still waiting for a child being stored keeps its marker: the next sweep looks again
      if (!(await this.settled(job))) return;
      if (job.stage === "inbox" && job.pendingDeps.length) await this.recheckDeps(job);
    }
    await this.deps.jobs.clearSettle(job);
  }

  /**
   * The follow-ups of `job`'s stage; each is idempotent, so running them twice is harmless.
   * False when they are not finished yet: `job` is a sealed composite parent waiting for a child
   * whose creator may have died (its marker must stay for the reaper).
   */
  private async settled(job: Job): Promise<boolean> {
    await this.deps.locks.releaseHeldBy(job);
    failpoint("settle.afterLockRelease");
    if (job.stage === "shipped") await this.deps.jobs.unblockDependents(job);
    if (job.stage === "failed" || job.stage === "cancelled") await this.failDependents(job);
    if (isTerminalStage(job.stage) && job.parentId) await this.finishParent(job.productId, job.parentId);
    if (job.kind === "composite" && job.stage === "inbox") return this.finishParent(job.productId, job._id);
    return true;
  }

  /**
   * Seals a composite parent and settles it if its children are all finished already (or it has
   * none). Null when `jobId` is not a composite parent in the inbox.
   */
  async seal(productId: string, jobId: string): Promise<Job | null> {
    const sealed = await this.deps.jobs.seal(productId, jobId, new Date());
    if (!sealed) return null;
    await this.settle(sealed);
    return (await this.deps.jobs.find(productId, jobId)) ?? sealed;
  }

  /**
   * A dependency may have finished while this job was being stored (create, retry): re-checks
   * its dependencies from the stored job, failing it or narrowing what it waits on.
   */
  async recheckDeps(job: Job): Promise<Job> {
    if (job.deps.length === 0) return job;
    const deps = await this.deps.jobs.findRefs(job.productId, job.deps);
    const culprit = doomedBy(job.depsMode, deps);
    if (culprit) return (await this.doom(job, culprit)) ?? job;
    const pending = pendingDeps(job.depsMode, deps);
    if (pending.length === job.pendingDeps.length) return job;
    return (await this.deps.jobs.keepPendingDeps(job._id, pending)) ?? job;
  }

  private async failDependents(dep: Job): Promise<void> {
    const { jobs } = this.deps;
    for (const job of await jobs.dependents(dep.productId, dep._id, "inbox")) {
      if (job.pendingDeps.length === 0) continue; // already runnable (an any-mode dep shipped)
      const deps = await jobs.findRefs(job.productId, job.deps);
      const culprit = doomedBy(job.depsMode, deps);
      if (!culprit) continue;
      await this.doom(job, culprit);
    }
  }

  /** Fails (or cancels) a waiting job because of a dependency, naming it. */
  async doom(job: Job, culprit: Job): Promise<Job | null> {
    const { stage: to, reason } = doom(culprit);
    const now = new Date();
    const moved = await this.deps.jobs.move(job._id, {
      from: "inbox",
      to,
      where: { productId: job.productId },
      set: { reason, endedAt: now, updatedAt: now },
    });
    if (!moved) return null;
    failpoint("doom.afterMove");
    await this.deps.events.record(moved, "dep_failed", { dependency: culprit._id, stage: to, reason: moved.reason });
    await this.settle(moved);
    return moved;
  }

  /**
   * Settles a composite parent from its children (`settleParent` in settle-rules.ts). Returns
   * false only while it waits for a child admitted but not stored yet.
   */
  private async finishParent(productId: string, parentId: string): Promise<boolean> {
    const { jobs } = this.deps;
    const parent = await jobs.find(productId, parentId);
    if (parent?.kind !== "composite" || parent.stage !== "inbox") return true;
    const children = await jobs.children(productId, parentId);
    const now = new Date();
    const outcome = settleParent(parent, children, { now, graceMs: this.deps.parentGraceMs });
    if (outcome.kind === "waiting") return !outcome.inFlight;
    if (outcome.kind === "open") return true;
    const moved = await jobs.move(parentId, {
      from: "inbox",
      to: outcome.stage,
      where: { productId, kind: "composite", sealed: true },
      set: { endedAt: now, updatedAt: now, ...(outcome.reason ? { reason: outcome.reason } : {}) },
    });
    if (!moved) return true;
    await this.deps.events.record(moved, outcome.stage === "shipped" ? "completed" : "failed", {
      children: children.length,
      unshipped: outcome.unshipped,
    });
    await this.settle(moved);
    return true;
  }
}
