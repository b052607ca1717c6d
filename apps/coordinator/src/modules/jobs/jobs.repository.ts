import {
  ACTIVE_STAGES,
  type Job,
  type Stage,
  canTransition,
  isActiveStage,
  stagesLeadingTo,
} from "@gigafactory/schema";
import type { Filter, UpdateFilter } from "mongodb";
import type { Collections } from "../../db/collections.js";

/**
 * The stage part of every stage-changing update: matches jobs in `from`, after checking with
 * the lifecycle table that each `from → to` is allowed. A disallowed pair is a bug, so it throws.
 */
export function moving(from: Stage | readonly Stage[], to: Stage): Filter<Job> {
  const sources = typeof from === "string" ? [from] : [...from];
  for (const source of sources) {
    if (!canTransition(source, to)) throw new Error(`lifecycle: ${source} → ${to} is not an allowed transition`);
  }
  return { stage: { $in: sources } };
}

/** The fence every factory write carries: current holder, current epoch, an active stage. */
export function fenceFilter(fence: {
  jobId: string;
  epoch: number;
  factoryId: string;
  productId: string;
}): Filter<Job> {
  return {
    _id: fence.jobId,
    productId: fence.productId,
    "lease.epoch": fence.epoch,
    "lease.holder": fence.factoryId,
    stage: { $in: [...ACTIVE_STAGES] },
  };
}

/** Fields that clear the lease; the epoch is kept (it only ever grows). */
export const LEASE_CLEARED = { "lease.holder": null, "lease.expiresAt": null, "lease.runId": null } as const;

export class JobsRepository {
  constructor(private readonly cols: Collections) {}

  get collection() {
    return this.cols.jobs;
  }

  find(productId: string, jobId: string): Promise<Job | null> {
    return this.cols.jobs.findOne({ _id: jobId, productId });
  }

  findByKey(productId: string, idempotencyKey: string): Promise<Job | null> {
    return this.cols.jobs.findOne({ productId, idempotencyKey });
  }

  /** Jobs of a product named by id or idempotency key. */
  findRefs(productId: string, refs: string[]): Promise<Job[]> {
    return this.cols.jobs
      .find({ productId, $or: [{ _id: { $in: refs } }, { idempotencyKey: { $in: refs } }] })
      .toArray();
  }

  insert(job: Job): Promise<unknown> {
    return this.cols.jobs.insertOne(job);
  }

  /** One conditional update; returns the job after it, or null when the filter matched nothing. */
  update(filter: Filter<Job>, update: UpdateFilter<Job>): Promise<Job | null> {
    return this.cols.jobs.findOneAndUpdate(filter, update, { returnDocument: "after" });
  }

  /** The claim: the best-ranked match (priority desc, then queue time), updated atomically. */
  claimNext(filter: Filter<Job>, update: UpdateFilter<Job>): Promise<Job | null> {
    return this.cols.jobs.findOneAndUpdate(filter, update, {
      sort: { priority: -1, queuedAt: 1, _id: 1 },
      returnDocument: "after",
    });
  }

  list(filter: Filter<Job>, limit: number): Promise<Job[]> {
    return this.cols.jobs.find(filter).sort({ _id: -1 }).limit(limit).toArray();
  }

  dependents(productId: string, jobId: string, stage: Stage): Promise<Job[]> {
    return this.cols.jobs.find({ productId, deps: jobId, stage }).toArray();
  }

  children(productId: string, parentId: string): Promise<Job[]> {
    return this.cols.jobs.find({ productId, parentId }).toArray();
  }

  /** Active jobs whose lease ran out (the reaper's query, index `reaper`). */
  expired(now: Date, limit: number): Promise<Job[]> {
    return this.cols.jobs
      .find({ stage: { $in: [...ACTIVE_STAGES] }, "lease.expiresAt": { $lt: now } })
      .limit(limit)
      .toArray();
  }

  countHeldBy(productId: string, factoryId: string): Promise<number> {
    return this.cols.jobs.countDocuments({ productId, "lease.holder": factoryId, stage: { $in: [...ACTIVE_STAGES] } });
  }
}

/** `moving` from whichever active stages may reach `to`. */
export function movingFromActive(to: Stage): Filter<Job> {
  return moving(stagesLeadingTo(to).filter(isActiveStage), to);
}
