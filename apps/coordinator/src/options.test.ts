import { describe, expect, it } from "vitest";
import { readEnv, timingOptions } from "./env.js";
import { DEFAULT_TIMINGS, reapEvery } from "./options.js";

describe("timingOptions", () => {
  it("is the documented defaults when the environment sets nothing", () => {
    expect(timingOptions(readEnv({}))).toEqual(DEFAULT_TIMINGS);
  });

  it("takes the lease, heartbeat, gone, notifier and backoff timings from the environment", () => {
    const options = timingOptions(
      readEnv({
        GF_LEASE_TTL: "1s",
        GF_HEARTBEAT_INTERVAL: "2s",
        GF_FACTORY_GONE_AFTER: "1m",
        GF_NOTIFIER_POLL: "0",
        GF_BACKOFF_BASE: "100ms",
        GF_BACKOFF_MAX: "1h",
      }),
    );
    expect(options.lease).toEqual({
      ...DEFAULT_TIMINGS.lease,
      ttlMs: 1_000,
      heartbeatMs: 2_000,
      factoryGoneAfterMs: 60_000,
      backoff: { baseMs: 100, maxMs: 3_600_000 },
    });
    expect(options.notifier).toEqual({ ...DEFAULT_TIMINGS.notifier, pollMs: 0 });
    expect(options.streams).toEqual(DEFAULT_TIMINGS.streams);
  });

  it("refuses a lease TTL or heartbeat of zero, which factories would act on", () => {
    expect(() => readEnv({ GF_LEASE_TTL: "0" })).toThrow(/GF_LEASE_TTL/);
    expect(() => readEnv({ GF_HEARTBEAT_INTERVAL: "0ms" })).toThrow(/GF_HEARTBEAT_INTERVAL/);
  });

  it("takes the TLS certificate and key together or not at all", () => {
    expect(readEnv({ GF_TLS_CERT: "c.pem", GF_TLS_KEY: "k.pem" })).toMatchObject({ GF_TLS_CERT: "c.pem" });
    expect(() => readEnv({ GF_TLS_CERT: "c.pem" })).toThrow(/GF_TLS_CERT and GF_TLS_KEY go together/);
    expect(() => readEnv({ GF_TLS_KEY: "k.pem" })).toThrow(/go together/);
  });

  it("refuses a default product that is not a product id", () => {
    expect(() => readEnv({ GF_DEFAULT_PRODUCT: "my product" })).toThrow(/GF_DEFAULT_PRODUCT/);
  });
});

describe("reapEvery", () => {
  it("is a quarter of the lease TTL, and never under 50 ms", () => {
    expect(reapEvery(30_000)).toBe(7_500);
    expect(reapEvery(1_001)).toBe(250);
    expect(reapEvery(100)).toBe(50);
  });
});
