import { writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { tempDir } from "../test/support/temp.js";
import { forgetToken, readConfig } from "./config.js";
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

describe("the factory's token", () => {
  it("is read from --token-file / GF_TOKEN_FILE, which win over GF_TOKEN", () => {
    using dir = tempDir("config");
    const file = dir.file("factory.token");
    writeFileSync(file, "from-file\n", { mode: 0o600 });
    expect(readConfig(["--token-file", file], base)).toMatchObject({ token: "from-file" });
    expect(readConfig([], { ...base, GF_TOKEN_FILE: file })).toMatchObject({ token: "from-file" });
    expect(() => readConfig(["--token-file", dir.file("missing")], base)).toThrow(/cannot read the token file/);
  });

  it("is dropped from the environment once read, so no child inherits it", () => {
    const env: NodeJS.ProcessEnv = { ...base };
    readConfig([], env);
    forgetToken(env);
    expect(env.GF_TOKEN).toBeUndefined();
  });

  it("turns the sandbox off only when asked", () => {
    expect(readConfig([], base)).toMatchObject({ sandbox: "auto" });
    expect(readConfig(["--no-sandbox"], base)).toMatchObject({ sandbox: "off" });
    expect(readConfig([], { ...base, GF_SANDBOX: "off" })).toMatchObject({ sandbox: "off" });
    expect(() => readConfig([], { ...base, GF_SANDBOX: "maybe" })).toThrow(/sandbox/);
  });
});
