import type { EchoState, Job, Run, Stage } from "@gigafactory/schema";

/** Seed 001's mapping: active stages → in progress, shipped → done, failed → blocked; others echo nothing. */
export function echoStateOf(stage: Stage): EchoState | null {
  switch (stage) {
    case "building":
    case "review":
    case "testing":
      return "in_progress";
    case "shipped":
      return "done";
    case "failed":
      return "blocked";
    default:
      return null;
  }
}

/**
 * The comment an echo posts: result, attempts, duration, tokens, cost and a dashboard link —
 * metrics only. Built from named fields so the prompt (`bodyMd`), logs and manifest can never
 * reach it.
 */
export function echoComment(job: Job, runs: readonly Run[], state: EchoState, dashboardUrl?: string): string {
  const ended = runs.filter((run) => run.endedAt);
  const durationMs = ended.reduce((sum, run) => sum + ((run.endedAt?.getTime() ?? 0) - run.startedAt.getTime()), 0);
  const sum = (pick: (run: Run) => number | undefined) => runs.reduce((total, run) => total + (pick(run) ?? 0), 0);
  const tokensIn = sum((run) => run.insights.tokensIn);
  const tokensOut = sum((run) => run.insights.tokensOut);
  const cost = sum((run) => run.insights.costUsd);
  const lines = [
    `**Gigafactory**: job \`${job._id}\` is **${state.replace("_", " ")}** (stage ${job.stage}).`,
    "",
    `- result: ${job.lastResult ?? "none yet"}`,
    `- attempts: ${runs.length} of at most ${job.maxAttempts}`,
    `- duration: ${Math.round(durationMs / 1000)} s`,
    `- tokens: ${tokensIn} in, ${tokensOut} out`,
    `- cost: ${cost.toFixed(4)} USD`,
  ];
  if (dashboardUrl) lines.push(`- dashboard: ${dashboardUrl.replace(/\/+$/, "")}/jobs/${encodeURIComponent(job._id)}`);
  return lines.join("\n");
}
