import type { StatusOutput } from "@gigafactory/schema";
import type { MetricsRepository } from "./metrics.repository.js";

const HOUR_MS = 3_600_000;

/** `admin.status` (`gf status`): the fleet gauges' read, uncached, plus failures in the last hour. */
export class StatusService {
  constructor(
    private readonly deps: {
      fleet: MetricsRepository;
      /** What the MongoDB launcher chose, when this process started it (`main.ts`). */
      mongoBackend?: string | undefined;
    },
  ) {}

  async status(now = new Date()): Promise<StatusOutput> {
    const [snapshot, failedLastHour] = await Promise.all([
      this.deps.fleet.snapshot(),
      this.deps.fleet.failedSince(new Date(now.getTime() - HOUR_MS)),
    ]);
    const oldest = snapshot.oldestQueuedAt;
    return {
      coordinator: { uptimeSeconds: Math.round(process.uptime()) },
      ...(this.deps.mongoBackend ? { mongoBackend: this.deps.mongoBackend } : {}),
      jobsByStage: snapshot.jobsByStage,
      queue: {
        depth: snapshot.jobsByStage.inbox,
        oldestAgeSeconds: oldest ? Math.max(0, (now.getTime() - oldest.getTime()) / 1000) : 0,
      },
      factoriesByState: snapshot.factoriesByState,
      seats: { used: snapshot.seatsUsed, free: Math.max(0, snapshot.seatsTotal - snapshot.seatsUsed) },
      failedLastHour,
    };
  }
}
