import { ACTIVE_STAGES, FactoryState, Stage } from "@gigafactory/schema";
import type { Collections } from "../../db/collections.js";

/** What the fleet gauges show, read from MongoDB so every coordinator reports the same numbers. */
export interface FleetSnapshot {
  /** Every stage, 0 when empty. */
  jobsByStage: Record<Stage, number>;
  /** Age of the oldest runnable inbox job (leaf, no pending deps), 0 when none. */
  oldestQueuedAt: Date | null;
  /** Every factory state, 0 when none. */
  factoriesByState: Record<FactoryState, number>;
  /** Seats of active factories, and jobs held under a lease. */
  seatsTotal: number;
  seatsUsed: number;
}

/**
 * The reads behind the fleet gauges: one count per stage (index `fleet_queue_age`, whose first field is
 * the stage), the oldest queued leaf (same index, in `queuedAt` order, stops at the first match),
 * held jobs (index `held_by`) and the factories (one document per factory, a small collection).
 */
export class MetricsRepository {
  constructor(private readonly cols: Collections) {}

  /** Jobs that ended `failed` since `since` (the stage prefix of index `fleet_queue_age`, then `endedAt`). */
  failedSince(since: Date): Promise<number> {
    return this.cols.jobs.countDocuments({ stage: "failed", endedAt: { $gte: since } });
  }

  async snapshot(): Promise<FleetSnapshot> {
    const { jobs, factories } = this.cols;
    const [stageCounts, oldest, held, fleet] = await Promise.all([
      Promise.all(Stage.options.map((stage) => jobs.countDocuments({ stage }))),
      jobs
        .find(
          { stage: "inbox", kind: { $ne: "composite" }, pendingDeps: { $size: 0 } },
          { projection: { queuedAt: 1 }, sort: { stage: 1, queuedAt: 1 }, limit: 1 },
        )
        .toArray(),
      jobs.countDocuments({ "lease.holder": { $ne: null }, stage: { $in: [...ACTIVE_STAGES] } }),
      factories.find({}, { projection: { state: 1, seatLimit: 1 } }).toArray(),
    ]);
    const jobsByStage = Object.fromEntries(Stage.options.map((stage, i) => [stage, stageCounts[i] ?? 0])) as Record<
      Stage,
      number
    >;
    const factoriesByState = Object.fromEntries(FactoryState.options.map((state) => [state, 0])) as Record<
      FactoryState,
      number
    >;
    let seatsTotal = 0;
    for (const factory of fleet) {
      factoriesByState[factory.state] = (factoriesByState[factory.state] ?? 0) + 1;
      if (factory.state === "active") seatsTotal += factory.seatLimit;
    }
    return {
      jobsByStage,
      oldestQueuedAt: oldest[0]?.queuedAt ?? null,
      factoriesByState,
      seatsTotal,
      seatsUsed: held,
    };
  }
}
