import { describe, expect, it } from "vitest";
import { readConfig } from "./config.js";
import { CLAIM_POLL_MS, DRAIN_GRACE_MS, KILL_GRACE_MS } from "./options.js";

const base = { GF_URL: "http://127.0.0.1:7700", GF_TOKEN: "t" };

describe("readConfig", () => {
  it("defaults the timing settings to the rules in options.ts", () => {
    expect(readConfig([], base)).toMatchObject({
      claimPoll: CLAIM_POLL_MS,
      drainGrace: DRAIN_GRACE_MS,
      killGrace: KILL_GRACE_MS,
      logLevel: "info",
    });
  });

  it("lets flags win over environment variables", () => {
    const config = readConfig(["--drain-grace", "2s", "--log-level", "warn"], { ...base, GF_DRAIN_GRACE: "1m" });
    expect(config).toMatchObject({ drainGrace: 2_000, logLevel: "warn" });
  });

  it("refuses a factory id or a log level the schema does not allow", () => {
    expect(() => readConfig(["--id", "bad id"], base)).toThrow(/factoryId/);
    expect(() => readConfig(["--log-level", "loud"], base)).toThrow(/logLevel/);
  });
});
