import type { Insights } from "@gigafactory/schema";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Harness, claimOne, createJob, fenceOf, registerFactory } from "./support/harness.js";

describe("admin.insights", () => {
  let h: Harness;
  beforeAll(async () => {
    // a database of its own, so the numbers are exactly those of this test
    h = await Harness.start("insights", { env: { GF_LEASE_TTL: "1h" } });
  });
  afterAll(() => h?.close());

  it("success rate, duration percentiles, tokens and cost by engine and profile", async () => {
    const service = await h.as("service");
    const factory = await h.as("factory");
    const f = await registerFactory(factory, { engines: ["shell", "codex"], seatLimit: 16 });
    await service.trpc.profiles.publish.mutate({ name: "coder", snapshot: { persona: "terse" } });

    // one job per planned run, claimed in this order by priority
    const plan: Array<{
      engine: "shell" | "codex";
      result: "success" | "failure" | "release";
      insights: Insights;
      profile?: boolean;
    }> = [
      {
        engine: "shell",
        result: "success",
        insights: { durationMs: 100, tokensIn: 1_000, tokensOut: 200, tokensCached: 50, costUsd: 0.5 },
      },
      {
        engine: "codex",
        result: "success",
        insights: { durationMs: 300, tokensIn: 2_000, tokensOut: 400, costUsd: 1.25 },
        profile: true,
      },
      {
        engine: "codex",
        result: "success",
        insights: { durationMs: 200, tokensIn: 500, tokensOut: 100, costUsd: 0.25 },
        profile: true,
      },
      { engine: "shell", result: "failure", insights: { durationMs: 50, tokensIn: 10, tokensOut: 1 } },
      { engine: "shell", result: "release", insights: {} },
    ];
    for (const [i, step] of plan.entries()) {
      await createJob(service, {
        engine: step.engine,
        priority: 100 - i,
        maxAttempts: 1,
        ...(step.profile ? { profile: { name: "coder" } } : {}),
      });
    }
    for (const step of plan) {
      const claimed = await claimOne(factory, f);
      expect(claimed.job.engine).toBe(step.engine);
      if (step.result === "release") await factory.trpc.factory.release.mutate(fenceOf(claimed, f));
      else
        await factory.trpc.factory.complete.mutate({
          ...fenceOf(claimed, f),
          result: step.result,
          insights: step.insights,
        });
    }

    const insights = await h.admin.trpc.admin.insights.query({});
    expect(insights.jobsByStage).toEqual({ shipped: 3, failed: 1, inbox: 1 });
    expect(insights.runsByResult).toEqual({ success: 3, failure: 1, released: 1 });
    // released runs do not count as finished: 3 of 4
    expect(insights.successRate).toBe(0.75);
    // successful durations 100, 200, 300 (nearest rank)
    expect(insights.durationMs).toEqual({ p50: 200, p95: 300 });
    const byEngine = Object.fromEntries(insights.byEngine.map(({ engine, ...totals }) => [engine, totals]));
    expect(byEngine).toEqual({
      shell: { runs: 3, tokensIn: 1_010, tokensOut: 201, tokensCached: 50, costUsd: 0.5 },
      codex: { runs: 2, tokensIn: 2_500, tokensOut: 500, tokensCached: 0, costUsd: 1.5 },
    });
    const byProfile = Object.fromEntries(insights.byProfile.map(({ profile, ...totals }) => [profile, totals]));
    expect(byProfile["coder@1"]).toEqual({ runs: 2, tokensIn: 2_500, tokensOut: 500, tokensCached: 0, costUsd: 1.5 });
    expect(byProfile["(none)"]?.runs).toBe(3);

    // `since` after everything: no runs, no rate
    const later = await h.admin.trpc.admin.insights.query({ since: new Date(Date.now() + 60_000) });
    expect(later).toMatchObject({
      runsByResult: {},
      successRate: null,
      durationMs: { p50: null, p95: null },
      byEngine: [],
    });
  });
});
