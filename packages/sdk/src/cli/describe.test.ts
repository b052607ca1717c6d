import type { JobEvent } from "@gigafactory/schema";
import { describe, expect, it } from "vitest";
import { describeEvent, stageAfter } from "./describe.js";

const event = (type: JobEvent["type"], data: Record<string, unknown> = {}) => ({ type, data, jobId: "job_1" });

describe("events", () => {
  it("says which stage a lifecycle event leaves the job in", () => {
    expect(stageAfter(event("created"))).toBe("inbox");
    expect(stageAfter(event("claimed", { factoryId: "f", attempt: 1 }))).toBe("building");
    expect(stageAfter(event("stage", { stage: "testing" }))).toBe("testing");
    expect(stageAfter(event("approval_requested"))).toBe("review");
    expect(stageAfter(event("completed"))).toBe("shipped");
    expect(stageAfter(event("rejected", { stage: "failed" }))).toBe("failed");
    expect(stageAfter(event("log", { line: "x" }))).toBeUndefined();
  });

  it("describes events in one line", () => {
    expect(describeEvent(event("log", { stream: "stdout", line: "hello" }))).toBe("hello");
    expect(describeEvent(event("claimed", { factoryId: "local-1", attempt: 2 }))).toBe(
      "claimed by local-1 (attempt 2)",
    );
    expect(
      describeEvent(event("requeued", { attempt: 1, result: "failure", retryInMs: 5_000, reason: "exit 3" })),
    ).toBe("attempt 1 ended failure: exit 3; back to inbox, retry in 5.0s");
    expect(describeEvent(event("approval_requested"))).toBe("waiting for approval: gf approve job_1 (or gf reject)");
    expect(describeEvent(event("verify", { passed: false, steps: [{ command: "pnpm test", exitCode: 1 }] }))).toBe(
      "verify failed: pnpm test exited 1",
    );
    expect(describeEvent(event("verify", { passed: true, steps: [{}, {}] }))).toBe("verify passed (2 gates)");
    expect(describeEvent(event("insights", { tokensIn: 1200, tokensOut: 300, costUsd: 0.0123, turns: 4 }))).toBe(
      "insights 1200 in / 300 out tokens, $0.0123, 4 turns",
    );
  });
});
