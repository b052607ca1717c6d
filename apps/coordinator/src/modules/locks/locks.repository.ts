import type { Job, Lock } from "@gigafactory/schema";
import { type Collections, isDuplicateKey } from "../../db/collections.js";
import { compoundKey } from "../../db/keys.js";

/**
 * A lock's document id: one per lock name and product, which is what makes it a mutex. Names and
 * product ids may hold `:`, so the id is a {@link compoundKey}, never the two joined as they are.
 */
export function lockId(productId: string, lock: string): string {
  return compoundKey(productId, lock);
}

/**
 * The `locks` collection: named mutexes, each held by one job at one lease epoch. Taking a lock
 * is inserting its document; a duplicate key means another job holds it.
 */
export class LocksRepository {
  constructor(private readonly cols: Collections) {}

  /** The names of the product's held locks (the claim skips jobs that need one). */
  heldNames(productId: string): Promise<string[]> {
    return this.cols.locks.distinct("name", { productId });
  }

  /** Up to `limit` locks of every product in `_id` order, after `afterId` when given (a page cursor). */
  page(afterId: string | undefined, limit: number): Promise<Lock[]> {
    return this.cols.locks
      .find(afterId === undefined ? {} : { _id: { $gt: afterId } })
      .sort({ _id: 1 })
      .limit(limit)
      .toArray();
  }

  /**
   * Takes `job`'s lock for its current lease epoch. A lock left by an earlier lease of this same
   * job is taken over; false when another job holds it.
   */
  async take(job: Pick<Job, "_id" | "productId" | "lock" | "lease">): Promise<boolean> {
    const lock = job.lock as string;
    const doc: Lock = {
      _id: lockId(job.productId, lock),
      productId: job.productId,
      name: lock,
      jobId: job._id,
      epoch: job.lease.epoch,
      acquiredAt: new Date(),
    };
    try {
      await this.cols.locks.insertOne(doc);
      return true;
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
      // the job's own lock from an older epoch (or this one: a retried claim) is the job's to take
      const stale = await this.cols.locks.replaceOne({ _id: doc._id, jobId: job._id, epoch: { $lte: doc.epoch } }, doc);
      return stale.matchedCount === 1;
    }
  }

  /** Frees the lock held by exactly this job at exactly this epoch; true when it did. */
  async free(lock: Pick<Lock, "productId" | "name" | "jobId" | "epoch">): Promise<boolean> {
    const { deletedCount } = await this.cols.locks.deleteOne({
      _id: lockId(lock.productId, lock.name),
      jobId: lock.jobId,
      epoch: lock.epoch,
    });
    return deletedCount > 0;
  }

  /** Frees `job`'s lock, but never one that a newer lease of the same job has taken over since. */
  async releaseHeldBy(job: Pick<Job, "_id" | "productId" | "lock" | "lease">): Promise<void> {
    if (!job.lock) return;
    await this.cols.locks.deleteOne({
      _id: lockId(job.productId, job.lock),
      jobId: job._id,
      epoch: { $lte: job.lease.epoch },
    });
  }
}
