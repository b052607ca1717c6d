import { ACTIVE_STAGES, type FactorySummary, type RunningJob, type Stage } from "@gigafactory/schema";
import type { Collections } from "../../db/collections.js";

/**
 * The dashboard's read models, each one query computed in MongoDB: counts by stage are a `$group`
 * over the `list_stage` index, never a read of every job.
 */
export class DashboardRepository {
  constructor(private readonly cols: Collections) {}

  /** Jobs per stage, and the oldest `queuedAt` per stage (the inbox's is the queue's oldest wait). */
  async stageCounts(productId: string): Promise<{ stage: Stage; count: number; oldestQueuedAt: Date | null }[]> {
    const rows = await this.cols.jobs
      .aggregate<{ _id: Stage; count: number; oldestQueuedAt: Date | null }>([
        { $match: { productId } },
        { $group: { _id: "$stage", count: { $sum: 1 }, oldestQueuedAt: { $min: "$queuedAt" } } },
      ])
      .toArray();
    return rows.map((row) => ({ stage: row._id, count: row.count, oldestQueuedAt: row.oldestQueuedAt ?? null }));
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
