import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { REASON_MAX } from "./primitives.js";
import { DiffStats, Insights, Run } from "./run.js";

function rejectedAt(schema: z.ZodType, value: unknown): PropertyKey[][] {
  const result = schema.safeParse(value);
  if (result.success) throw new Error(`expected ${JSON.stringify(value)} to be rejected`);
  return result.error.issues.map((issue) => issue.path);
}

const insights: Insights = {
  model: "claude-sonnet-4",
  tokensIn: 12_000,
  tokensOut: 3_400,
  tokensCached: 8_000,
  costUsd: 0.42,
  estimated: false,
  turns: 17,
  toolCalls: 41,
  filesChanged: 6,
  linesAdded: 310,
  linesDeleted: 25,
  durationMs: 812_000,
};

const run: Run = {
  _id: "run-1",
  productId: "acme",
  jobId: "job-1",
  attempt: 1,
  epoch: 1,
  factoryId: "factory-1",
  engine: "claude-code",
  profileSnapshot: { persona: "backend engineer" },
  startedAt: new Date("2026-01-02T03:00:00Z"),
  endedAt: new Date("2026-01-02T03:13:32Z"),
  exit: { code: 0, signal: null },
  verifyResult: { passed: true, steps: [{ command: "pnpm test", exitCode: 0, durationMs: 5_000, tail: "ok" }] },
  result: "success",
  insights,
};

describe("Run", () => {
  it("parses a finished run with insights", () => {
    expect(Run.parse(run)).toEqual(run);
  });

  it("parses a run still going on: no result, no end, empty insights", () => {
    const { endedAt, exit, verifyResult, result, ...going } = run;
    expect(Run.parse({ ...going, insights: {} })).toEqual({ ...going, insights: {} });
  });

  it("refuses an unknown result at result", () => {
    expect(rejectedAt(Run, { ...run, result: "ok" })).toEqual([["result"]]);
  });

  it("refuses attempt 0 (attempts count from 1)", () => {
    expect(rejectedAt(Run, { ...run, attempt: 0 })).toEqual([["attempt"]]);
  });

  it("refuses negative tokens and cost inside insights", () => {
    expect(rejectedAt(Run, { ...run, insights: { ...insights, tokensIn: -1, costUsd: -0.01 } })).toEqual([
      ["insights", "tokensIn"],
      ["insights", "costUsd"],
    ]);
  });

  it("refuses a run without insights", () => {
    const { insights: _, ...rest } = run;
    expect(rejectedAt(Run, rest)).toEqual([["insights"]]);
  });

  it("refuses a missing productId", () => {
    const { productId, ...rest } = run;
    expect(rejectedAt(Run, rest)).toEqual([["productId"]]);
  });

  it("keeps a reason of up to REASON_MAX characters", () => {
    expect(Run.safeParse({ ...run, reason: "x".repeat(REASON_MAX) }).success).toBe(true);
    expect(rejectedAt(Run, { ...run, reason: "x".repeat(REASON_MAX + 1) })).toEqual([["reason"]]);
  });

  it("refuses a verify step with a negative duration at its path", () => {
    const verifyResult = { passed: false, steps: [{ command: "make", exitCode: 2, durationMs: -1 }] };
    expect(rejectedAt(Run, { ...run, verifyResult })).toEqual([["verifyResult", "steps", 0, "durationMs"]]);
  });
});

describe("Insights", () => {
  it("refuses fractional token counts", () => {
    expect(rejectedAt(Insights, { tokensOut: 1.5 })).toEqual([["tokensOut"]]);
  });
});

describe("DiffStats", () => {
  it("is all three counts, each optional in Insights", () => {
    expect(rejectedAt(DiffStats, { filesChanged: 1, linesAdded: 2 })).toEqual([["linesDeleted"]]);
    expect(Insights.parse({ filesChanged: 1 })).toEqual({ filesChanged: 1 });
    expect(rejectedAt(Insights, { linesAdded: -1 })).toEqual([["linesAdded"]]);
  });
});
