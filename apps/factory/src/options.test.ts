import { describe, expect, it } from "vitest";
import {
  attemptLimitMs,
  heartbeatEvery,
  MIN_RENEW_EVERY_MS,
  renewEvery,
  WATCHDOG_SLACK_MS,
  writeRetryDelay,
} from "./options.js";

describe("attemptLimitMs", () => {
  it("gives the engine, the reviewer and every verify gate the job's timeout, plus the slack", () => {
    expect(attemptLimitMs({ timeoutMs: 1_000, review: { mode: "none" }, verify: [] }, 50)).toBe(1_050);
    expect(attemptLimitMs({ timeoutMs: 1_000, review: { mode: "engine" }, verify: ["a", "b"] }, 50)).toBe(4_050);
    // a human review parks the job without a lease: no phase of this attempt
    expect(attemptLimitMs({ timeoutMs: 1_000, review: { mode: "human" }, verify: [] }, 0)).toBe(1_000);
  });

  it("adds the watchdog slack when none is given", () => {
    expect(attemptLimitMs({ timeoutMs: 1_000, review: { mode: "none" }, verify: [] })).toBe(1_000 + WATCHDOG_SLACK_MS);
  });
});

describe("renewEvery", () => {
  it("renews three times per lease TTL, never more often than the floor", () => {
    expect(renewEvery(30_000)).toBe(10_000);
    expect(renewEvery(1_000)).toBe(333);
    expect(renewEvery(30)).toBe(MIN_RENEW_EVERY_MS);
  });
});

describe("heartbeatEvery", () => {
  it("takes the configured interval over the coordinator's suggestion", () => {
    expect(heartbeatEvery(500, 10_000)).toBe(500);
    expect(heartbeatEvery(undefined, 10_000)).toBe(10_000);
  });
});

describe("writeRetryDelay", () => {
  it("doubles from the base and stops at the cap", () => {
    expect([1, 2, 3, 4, 5, 10].map(writeRetryDelay)).toEqual([400, 800, 1_600, 3_200, 5_000, 5_000]);
  });
});
