import { describe, expect, it } from "vitest";
import { sleep } from "../../test/support/wait.js";
import { attemptLimitMs, LeaseKeeper } from "./lease-keeper.js";

describe("attemptLimitMs", () => {
  it("gives the engine, the reviewer and every verify gate the job's timeout, plus the slack", () => {
    expect(attemptLimitMs({ timeoutMs: 1_000, review: { mode: "none" }, verify: [] }, 50)).toBe(1_050);
    expect(attemptLimitMs({ timeoutMs: 1_000, review: { mode: "engine" }, verify: ["a", "b"] }, 50)).toBe(4_050);
    // a human review parks the job without a lease: no phase of this attempt
    expect(attemptLimitMs({ timeoutMs: 1_000, review: { mode: "human" }, verify: [] }, 0)).toBe(1_000);
  });
});

describe("LeaseKeeper", () => {
  it("a watchdog past setTimeout's limit (a week-long job with gates) does not fire at once", async () => {
    let overruns = 0;
    const keeper = new LeaseKeeper({
      leaseTtlMs: 30_000,
      renew: async () => undefined,
      watchdogMs: 7 * 24 * 3_600_000 * 5,
      onOverrun: () => overruns++,
    });
    keeper.start();
    try {
      await sleep(50);
      expect(overruns).toBe(0);
    } finally {
      keeper.stop();
    }
  });
});
