import { describe, expect, it } from "vitest";
import { sleep, waitFor } from "../../test/support/wait.js";
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

  it("fences itself once when no renewal gets through before the deadline minus the margin, and stops renewing", async () => {
    let renewals = 0;
    const expiring: number[] = [];
    const grantedAt = Date.now();
    const keeper = new LeaseKeeper({
      leaseTtlMs: 600,
      grantedAt,
      renew: async () => {
        renewals++;
        throw new TypeError("fetch failed");
      },
      watchdogMs: 60_000,
      onOverrun: () => undefined,
      selfFenceMarginMs: 200,
      onExpiring: (deadline) => expiring.push(deadline),
    });
    keeper.start();
    try {
      await waitFor("self-fence", () => expiring.length > 0);
      expect(expiring).toEqual([grantedAt + 600]);
      expect(keeper.expired).toBe(true);
      const after = renewals;
      await sleep(500);
      expect(renewals).toBe(after);
      expect(expiring).toHaveLength(1);
    } finally {
      keeper.stop();
    }
  });

  it("a renewal that got through moves the deadline to its send time plus the TTL", () => {
    const keeper = new LeaseKeeper({
      leaseTtlMs: 30_000,
      grantedAt: 1_000,
      renew: async () => undefined,
      watchdogMs: 60_000,
      onOverrun: () => undefined,
      selfFenceMarginMs: 1_000,
      onExpiring: () => undefined,
    });
    expect(keeper.deadline).toBe(31_000);
    keeper.renewed(5_000);
    expect(keeper.deadline).toBe(35_000);
    // an older renewal answering late does not move it back
    keeper.renewed(2_000);
    expect(keeper.deadline).toBe(35_000);
  });
});
