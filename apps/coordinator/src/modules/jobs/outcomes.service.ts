import { type Job, isTerminalStage } from "@gigafactory/schema";
import type { Collections } from "../../db/collections.js";
import { type EventLog, RESERVE_EVENT } from "../events/event-log.js";
import { type JobsRepository, moving } from "./jobs.repository.js";

export function lockId(productId: string, lock: string): string {
  return `${productId}:${lock}`;
}

/**
 * What follows a stage change: the lock is freed, dependents are unblocked or failed,
 * a composite parent finishes when its last child does. One place for these rules.
 */
export class OutcomesService {
  constructor(
    private readonly jobs: JobsRepository,
    private readonly cols: Collections,
    private readonly events: EventLog,
  ) {}

  /** Call after any update that took a job out of an active stage. */
  async settled(job: Job): Promise<void> {
    await this.releaseLock(job);
    if (job.stage === "shipped") await this.unblockDependents(job);
    if (job.stage === "failed" || job.stage === "cancelled") await this.failDependents(job);
    if (isTerminalStage(job.stage) && job.parentId) await this.settleParent(job);
  }

  async releaseLock(job: Job): Promise<void> {
    // never a lock that a newer lease of the same job has taken over since
    if (job.lock)
      await this.cols.locks.deleteOne({
        _id: lockId(job.productId, job.lock),
        jobId: job._id,
        epoch: { $lte: job.lease.epoch },
      });
  }

  /** Pending dependencies of a new job: the refs that have not shipped (any-mode: none once one has). */
  static pendingFor(depsMode: Job["depsMode"], deps: Job[]): string[] {
    const unshipped = deps.filter((dep) => dep.stage !== "shipped").map((dep) => dep._id);
    if (depsMode === "any") return unshipped.length < deps.length ? [] : unshipped;
    return unshipped;
  }

  /** The dependency whose failure dooms a job with these deps, if any. */
  static doomedBy(depsMode: Job["depsMode"], deps: Job[]): Job | undefined {
    const dead = deps.filter((dep) => dep.stage === "failed" || dep.stage === "cancelled");
    if (depsMode === "any") return deps.length > 0 && dead.length === deps.length ? dead[0] : undefined;
    return dead[0];
  }

  private async unblockDependents(dep: Job): Promise<void> {
    const { productId } = dep;
    await this.jobs.collection.updateMany(
      { productId, deps: dep._id, depsMode: "all", stage: "inbox" },
      { $pull: { pendingDeps: dep._id } },
    );
    await this.jobs.collection.updateMany(
      { productId, deps: dep._id, depsMode: "any", stage: "inbox" },
      { $set: { pendingDeps: [] } },
    );
  }

  private async failDependents(dep: Job): Promise<void> {
    for (const job of await this.jobs.dependents(dep.productId, dep._id, "inbox")) {
      if (job.pendingDeps.length === 0) continue; // already runnable (an any-mode dep shipped)
      const deps = await this.jobs.findRefs(job.productId, job.deps);
      const culprit = OutcomesService.doomedBy(job.depsMode, deps);
      if (!culprit) continue;
      await this.doom(job, culprit);
    }
  }

  /** Fails (or cancels) a waiting job because of a dependency, naming it. */
  async doom(job: Job, culprit: Job): Promise<Job | null> {
    const to = culprit.stage === "cancelled" ? "cancelled" : "failed";
    const reason = `dependency ${culprit._id} (${culprit.title || culprit.idempotencyKey}) ${culprit.stage === "cancelled" ? "was cancelled" : "failed"}${culprit.reason ? `: ${culprit.reason}` : ""}`;
    const now = new Date();
    const moved = await this.jobs.update(
      { _id: job._id, productId: job.productId, ...moving("inbox", to) },
      { $set: { stage: to, reason: reason.slice(0, 2_000), endedAt: now, updatedAt: now }, $inc: RESERVE_EVENT },
    );
    if (!moved) return null;
    await this.events.record(moved, "dep_failed", { dependency: culprit._id, stage: to, reason: moved.reason });
    await this.settled(moved);
    return moved;
  }

  private async settleParent(child: Job): Promise<void> {
    const parentId = child.parentId;
    if (!parentId) return;
    const children = await this.jobs.children(child.productId, parentId);
    if (!children.every((each) => isTerminalStage(each.stage))) return;
    const unshipped = children.filter((each) => each.stage !== "shipped").map((each) => each._id);
    const to = unshipped.length ? "failed" : "shipped";
    const now = new Date();
    const parent = await this.jobs.update(
      { _id: parentId, productId: child.productId, kind: "composite", ...moving("inbox", to) },
      {
        $set: {
          stage: to,
          endedAt: now,
          updatedAt: now,
          ...(unshipped.length ? { reason: `children did not ship: ${unshipped.join(", ")}` } : {}),
        },
        $inc: RESERVE_EVENT,
      },
    );
    if (!parent) return;
    await this.events.record(parent, to === "shipped" ? "completed" : "failed", {
      children: children.length,
      unshipped,
    });
    await this.settled(parent);
  }
}
