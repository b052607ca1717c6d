import { describe, expect, it } from "vitest";
import { sleep } from "../../test/support/wait.js";
import { LeaseKeeper } from "./lease-keeper.js";

describe("LeaseKeeper", () => {
  it("a watchdog past setTimeout's limit (a week-long job with gates) does not fire at once", async () => {
    let overruns = 0;
    const keeper = new LeaseKeeper({
      leaseTtlMs: 30_000,
      grantedAt: Date.now(),
      renew: async () => undefined,
      selfFenceMarginMs: 1_000,
      onExpiring: () => undefined,
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
