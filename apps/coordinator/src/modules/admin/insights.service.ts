import type { InsightsOutput, Run, Stage } from "@gigafactory/schema";
import type { Collections } from "../../db/collections.js";

const MAX_RUNS = 50_000;

type Totals = { runs: number; tokensIn: number; tokensOut: number; tokensCached: number; costUsd: number };

/** Fleet statistics: jobs by stage, run outcomes, duration percentiles, tokens and cost. */
export class InsightsService {
  constructor(private readonly cols: Collections) {}

  async compute(productId: string, since?: Date): Promise<InsightsOutput> {
    const stageRows = await this.cols.jobs
      .aggregate<{ _id: Stage; n: number }>([{ $match: { productId } }, { $group: { _id: "$stage", n: { $sum: 1 } } }])
      .toArray();
    const jobsByStage: Partial<Record<Stage, number>> = {};
    for (const row of stageRows) jobsByStage[row._id] = row.n;

    const runs = await this.cols.runs
      .find(
        { productId, result: { $exists: true }, ...(since ? { endedAt: { $gte: since } } : {}) },
        { projection: { result: 1, engine: 1, profileSnapshot: 1, insights: 1, startedAt: 1, endedAt: 1, jobId: 1 } },
      )
      .sort({ endedAt: -1 })
      .limit(MAX_RUNS)
      .toArray();
    const profileOf = await this.profileNames(productId, runs);

    const runsByResult: Record<string, number> = {};
    const byEngine = new Map<string, Totals>();
    const byProfile = new Map<string, Totals>();
    const durations: number[] = [];
    for (const run of runs) {
      const result = run.result ?? "running";
      runsByResult[result] = (runsByResult[result] ?? 0) + 1;
      add(byEngine, run.engine, run);
      add(byProfile, profileOf.get(run.jobId) ?? "(none)", run);
      const duration =
        run.insights.durationMs ?? (run.endedAt ? run.endedAt.getTime() - run.startedAt.getTime() : undefined);
      if (duration !== undefined && run.result === "success") durations.push(duration);
    }
    const finished = runs.filter((run) => run.result !== "released").length;
    durations.sort((a, b) => a - b);
    return {
      jobsByStage,
      runsByResult,
      successRate: finished ? (runsByResult.success ?? 0) / finished : null,
      durationMs: { p50: percentile(durations, 0.5), p95: percentile(durations, 0.95) },
      byEngine: [...byEngine].map(([engine, totals]) => ({ engine, ...totals })),
      byProfile: [...byProfile].map(([profile, totals]) => ({ profile, ...totals })),
    };
  }

  private async profileNames(productId: string, runs: Pick<Run, "jobId">[]): Promise<Map<string, string>> {
    const ids = [...new Set(runs.map((run) => run.jobId))];
    const jobs = await this.cols.jobs
      .find({ productId, _id: { $in: ids }, profile: { $exists: true } }, { projection: { profile: 1 } })
      .toArray();
    return new Map(jobs.map((job) => [job._id, job.profile ? `${job.profile.name}@${job.profile.version}` : "(none)"]));
  }
}

function add(map: Map<string, Totals>, key: string, run: Pick<Run, "insights">): void {
  const totals = map.get(key) ?? { runs: 0, tokensIn: 0, tokensOut: 0, tokensCached: 0, costUsd: 0 };
  totals.runs++;
  totals.tokensIn += run.insights.tokensIn ?? 0;
  totals.tokensOut += run.insights.tokensOut ?? 0;
  totals.tokensCached += run.insights.tokensCached ?? 0;
  totals.costUsd += run.insights.costUsd ?? 0;
  map.set(key, totals);
}

/** Nearest-rank percentile of sorted values; null when there are none. */
export function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? null;
}
