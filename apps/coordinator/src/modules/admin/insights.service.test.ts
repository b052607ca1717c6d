import { describe, expect, it } from "vitest";
import type { RunSummary } from "../runs/runs.repository.js";
import { percentile, summarizeRuns } from "./insights.service.js";

describe("percentile (nearest rank)", () => {
  it("is null with no values", () => {
    expect(percentile([], 0.5)).toBeNull();
  });

  it("picks the value at rank ceil(p × n)", () => {
    const sorted = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100];
    expect(percentile(sorted, 0.5)).toBe(50);
    expect(percentile(sorted, 0.95)).toBe(100);
    expect(percentile(sorted, 0.1)).toBe(10);
    expect(percentile(sorted, 0.11)).toBe(20);
  });

  it("stays inside the values at the ends", () => {
    expect(percentile([7, 8, 9], 0)).toBe(7);
    expect(percentile([7, 8, 9], 1)).toBe(9);
    expect(percentile([7], 0.95)).toBe(7);
  });
});

describe("summarizeRuns", () => {
  const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, seconds));
  const run = (over: Partial<RunSummary>): RunSummary => ({
    jobId: "job_1",
    engine: "shell",
    result: "success",
    insights: {},
    startedAt: at(0),
    endedAt: at(1),
    ...over,
  });

  it("counts results, and leaves released runs out of the success rate", () => {
    const summary = summarizeRuns(
      [run({}), run({ result: "failure" }), run({ result: "released" }), run({ result: "lost" })],
      new Map(),
    );
    expect(summary.runsByResult).toEqual({ success: 1, failure: 1, released: 1, lost: 1 });
    expect(summary.successRate).toBeCloseTo(1 / 3);
  });

  it("has no success rate without runs", () => {
    expect(summarizeRuns([], new Map()).successRate).toBeNull();
  });

  it("takes durations of successful runs only, from insights or else from start and end", () => {
    const summary = summarizeRuns(
      [
        run({ insights: { durationMs: 300 } }),
        run({ startedAt: at(0), endedAt: at(2) }), // 2,000 ms
        run({ insights: { durationMs: 100 } }),
        run({ result: "failure", insights: { durationMs: 1 } }),
      ],
      new Map(),
    );
    expect(summary.durationMs).toEqual({ p50: 300, p95: 2_000 });
  });

  it("adds tokens and cost by engine and by profile (jobs without one under (none))", () => {
    const summary = summarizeRuns(
      [
        run({ jobId: "job_a", engine: "codex", insights: { tokensIn: 10, tokensOut: 2, costUsd: 0.5 } }),
        run({ jobId: "job_a", engine: "codex", insights: { tokensIn: 5, tokensCached: 1, costUsd: 0.25 } }),
        run({ jobId: "job_b", engine: "shell", insights: { tokensIn: 1 } }),
      ],
      new Map([["job_a", "coder@2"]]),
    );
    expect(summary.byEngine).toEqual([
      { engine: "codex", runs: 2, tokensIn: 15, tokensOut: 2, tokensCached: 1, costUsd: 0.75 },
      { engine: "shell", runs: 1, tokensIn: 1, tokensOut: 0, tokensCached: 0, costUsd: 0 },
    ]);
    expect(summary.byProfile).toEqual([
      { profile: "coder@2", runs: 2, tokensIn: 15, tokensOut: 2, tokensCached: 1, costUsd: 0.75 },
      { profile: "(none)", runs: 1, tokensIn: 1, tokensOut: 0, tokensCached: 0, costUsd: 0 },
    ]);
  });
});
