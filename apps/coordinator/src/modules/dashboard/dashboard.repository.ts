import { ACTIVE_STAGES, type FactorySummary, type Job, type RunningJob, type Stage } from "@gigafactory/schema";
import type { Filter } from "mongodb";
import type { Collections } from "../../db/collections.js";

/**
 * The dashboard's read models, each one query computed in MongoDB: counts by stage are a `$group`
 * over the `list_stage` index, never a read of every job.
 */
export class DashboardRepository {
  constructor(private readonly cols: Collections) {}

  /** Jobs per stage: a `$group` on fields of the `list_stage` index, so MongoDB can answer from it. */
  async stageCounts(productId: string): Promise<{ stage: Stage; count: number }[]> {
    const rows = await this.cols.jobs
      .aggregate<{ _id: Stage; count: number }>([
        { $match: { productId } },
        { $group: { _id: "$stage", count: { $sum: 1 } } },
      ])
      .toArray();
    return rows.map((row) => ({ stage: row._id, count: row.count }));
  }

  /** When the longest-waiting inbox job entered the queue (index `queue_age`: one entry read). */
  async oldestQueuedAt(productId: string): Promise<Date | null> {
    const oldest = await this.cols.jobs
      .find({ productId, stage: "inbox" }, { projection: { _id: 0, queuedAt: 1 } })
      .sort({ queuedAt: 1 })
      .limit(1)
      .next();
    return oldest?.queuedAt ?? null;
  }

  /** Jobs in an active stage, newest change first (index `list_stage`). */
  async running(productId: string, limit: number): Promise<RunningJob[]> {
    const jobs = await this.cols.jobs
      .find(
        { productId, stage: { $in: [...ACTIVE_STAGES] } },
        { projection: { _id: 1, title: 1, stage: 1, engine: 1, "lease.holder": 1, updatedAt: 1 } },
      )
      .sort({ _id: -1 })
      .limit(limit)
      .toArray();
    return jobs.map((job) => ({
      jobId: job._id,
      title: job.title,
      stage: job.stage,
      engine: job.engine,
      factoryId: job.lease?.holder ?? null,
      since: job.updatedAt,
    }));
  }

  /**
   * Jobs whose id or idempotency key is `text`, or whose title holds it (any case), newest first
   * (index `list_all`). A title match has no index: the read walks jobs newest first until the
   * page is full, bounded by `maxTimeMs`.
   */
  search(query: { productId: string; text: string; beforeId?: string | undefined; limit: number; maxTimeMs: number }) {
    const filter: Filter<Job> = {
      productId: query.productId,
      $or: [
        { _id: query.text },
        { idempotencyKey: query.text },
        { title: { $regex: escapeRegExp(query.text), $options: "i" } },
      ],
    };
    if (query.beforeId) filter._id = { $lt: query.beforeId };
    return this.cols.jobs.find(filter).sort({ _id: -1 }).limit(query.limit).maxTimeMS(query.maxTimeMs).toArray();
  }

  /** Every factory of the product, without its token binding. */
  async factories(productId: string): Promise<FactorySummary[]> {
    const factories = await this.cols.factories.find({ productId }).sort({ factoryId: 1 }).toArray();
    return factories.map((factory) => ({
      factoryId: factory.factoryId,
      state: factory.state,
      descriptor: factory.descriptor,
      capabilities: factory.capabilities,
      engines: factory.engines,
      seatLimit: factory.seatLimit,
      running: factory.load.running,
      lastHeartbeatAt: factory.lastHeartbeatAt,
      registeredAt: factory.registeredAt,
      healthy: factory.health.ok,
    }));
  }
}

/** `text` matched literally inside a regular expression. */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
