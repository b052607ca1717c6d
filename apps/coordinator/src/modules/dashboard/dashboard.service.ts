import {
  type DashboardFactories,
  type DashboardOverview,
  type Job,
  type JobSearchInput,
  Stage,
} from "@gigafactory/schema";
import type { z } from "zod";
import { decodeCursor, encodeCursor } from "../jobs/cursor.js";
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

  /** A page of jobs matching `text` (see DashboardRepository.search), with the next page's cursor. */
  async search(
    productId: string,
    input: z.output<typeof JobSearchInput>,
  ): Promise<{ items: Job[]; nextCursor: string | null }> {
    const items = await this.repository.search({
      productId,
      text: input.text,
      beforeId: input.cursor ? decodeCursor(input.cursor) : undefined,
      limit: input.limit + 1,
      maxTimeMs: this.options.searchTimeoutMs,
    });
    const page = items.slice(0, input.limit);
    const last = page.at(-1);
    return { items: page, nextCursor: items.length > input.limit && last ? encodeCursor(last._id) : null };
  }
}
