import type { InsightsOutput } from "@gigafactory/schema";
import type { JobsRepository } from "../jobs/jobs.repository.js";
import type { RunSummary, RunsRepository } from "../runs/runs.repository.js";

type Totals = { runs: number; tokensIn: number; tokensOut: number; tokensCached: number; costUsd: number };

/** Fleet statistics: jobs by stage, run outcomes, duration percentiles, tokens and cost. */
export class InsightsService {
  constructor(
    private readonly deps: {
      jobs: JobsRepository;
      runs: RunsRepository;
      /** `caches.insightsMaxRuns` in options.ts. */
      maxRuns: number;
    },
  ) {}

  async compute(productId: string, since?: Date): Promise<InsightsOutput> {
    const jobsByStage = await this.deps.jobs.countByStage(productId);
    const runs = await this.deps.runs.finished(productId, { since, limit: this.deps.maxRuns });
    const profileOf = await this.profileNames(productId, runs);
    return { jobsByStage, ...summarizeRuns(runs, profileOf) };
  }

  private async profileNames(productId: string, runs: Pick<RunSummary, "jobId">[]): Promise<Map<string, string>> {
    const ids = [...new Set(runs.map((run) => run.jobId))];
    const jobs = await this.deps.jobs.profilesOf(productId, ids);
    return new Map(jobs.map((job) => [job._id, job.profile ? `${job.profile.name}@${job.profile.version}` : "(none)"]));
  }
}

/** Run outcomes, success rate, duration percentiles (of successful runs) and totals by engine and profile. */
export function summarizeRuns(
  runs: RunSummary[],
  profileOf: ReadonlyMap<string, string>,
): Omit<InsightsOutput, "jobsByStage"> {
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
    runsByResult,
    successRate: finished ? (runsByResult.success ?? 0) / finished : null,
    durationMs: { p50: percentile(durations, 0.5), p95: percentile(durations, 0.95) },
    byEngine: [...byEngine].map(([engine, totals]) => ({ engine, ...totals })),
    byProfile: [...byProfile].map(([profile, totals]) => ({ profile, ...totals })),
  };
}

function add(map: Map<string, Totals>, key: string, run: Pick<RunSummary, "insights">): void {
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
