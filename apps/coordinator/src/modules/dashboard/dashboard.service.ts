import { type DashboardFactories, type DashboardOverview, Stage } from "@gigafactory/schema";
import type { DashboardOptions } from "../../options.js";
import type { DashboardRepository } from "./dashboard.repository.js";

/** What the dashboard's overview and factories pages show, for one product. */
export class DashboardService {
  constructor(
    private readonly repository: DashboardRepository,
    private readonly options: DashboardOptions & { heartbeatMs: number },
  ) {}

  private get staleAfterMs(): number {
    return this.options.heartbeatMs * this.options.staleAfterHeartbeats;
  }

  async overview(productId: string): Promise<DashboardOverview> {
    const [counts, oldestQueuedAt, running, factories] = await Promise.all([
      this.repository.stageCounts(productId),
      this.repository.oldestQueuedAt(productId),
      this.repository.running(productId, this.options.runningLimit),
      this.repository.factories(productId),
    ]);
    const byStage = Object.fromEntries(Stage.options.map((stage) => [stage, 0])) as Record<Stage, number>;
    for (const row of counts) byStage[row.stage] = row.count;
    return {
      at: new Date(),
      byStage,
      queue: { depth: byStage.inbox, oldestQueuedAt },
      running,
      factories,
      staleAfterMs: this.staleAfterMs,
    };
  }

  async factories(productId: string): Promise<DashboardFactories> {
    return { at: new Date(), factories: await this.repository.factories(productId), staleAfterMs: this.staleAfterMs };
  }
}
