import { type Job, isTerminalStage } from "@gigafactory/schema";
import type { EventLog } from "../events/event-log.js";
import type { LocksRepository } from "../locks/locks.repository.js";
import type { JobsRepository } from "./jobs.repository.js";
import { doom, doomedBy, settleParent } from "./settle-rules.js";

/**
 * What follows a stage change: the lock is freed, dependents are unblocked or failed,
 * a composite parent finishes when its last child does. One place for these rules
 * (decided in `settle-rules.ts`).
 */
export class OutcomesService {
  constructor(
    private readonly deps: {
      jobs: JobsRepository;
      locks: LocksRepository;
      events: EventLog;
    },
  ) {}

  /** Call after any update that took a job out of an active stage. */
  async settled(job: Job): Promise<void> {
    await this.deps.locks.releaseHeldBy(job);
    if (job.stage === "shipped") await this.deps.jobs.unblockDependents(job);
    if (job.stage === "failed" || job.stage === "cancelled") await this.failDependents(job);
    if (isTerminalStage(job.stage) && job.parentId) await this.finishParent(job);
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
    await this.deps.events.record(moved, "dep_failed", { dependency: culprit._id, stage: to, reason: moved.reason });
    await this.settled(moved);
    return moved;
  }

  private async finishParent(child: Job): Promise<void> {
    const parentId = child.parentId;
    if (!parentId) return;
    const children = await this.deps.jobs.children(child.productId, parentId);
    const outcome = settleParent(children);
    if (!outcome) return;
    const now = new Date();
    const parent = await this.deps.jobs.move(parentId, {
      from: "inbox",
      to: outcome.stage,
      where: { productId: child.productId, kind: "composite" },
      set: { endedAt: now, updatedAt: now, ...(outcome.reason ? { reason: outcome.reason } : {}) },
    });
    if (!parent) return;
    await this.deps.events.record(parent, outcome.stage === "shipped" ? "completed" : "failed", {
      children: children.length,
      unshipped: outcome.unshipped,
    });
    await this.settled(parent);
  }
}
