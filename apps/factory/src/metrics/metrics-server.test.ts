import { describe, expect, it } from "vitest";
import { readConfig } from "../config.js";
import { parseMetricsAddr } from "./metrics-server.js";

describe("--metrics-addr", () => {
  it("reads host:port and [v6]:port", () => {
    expect(parseMetricsAddr("127.0.0.1:9464")).toEqual({ host: "127.0.0.1", port: 9464 });
    expect(parseMetricsAddr("[::1]:0")).toEqual({ host: "::1", port: 0 });
  });

  it("refuses anything else with a clear error", () => {
    for (const bad of ["9464", "host:", ":9464", "host:99999", "a:b:c"])
      expect(() => parseMetricsAddr(bad), bad).toThrow(/--metrics-addr must be host:port/);
  });

  it("is off by default and refused by the config when malformed", () => {
    const env = { GF_URL: "http://127.0.0.1:7700", GF_TOKEN: "t" };
    const config = readConfig([], env);
    expect(config !== "help" && config.metricsAddr).toBeUndefined();
    expect(() => readConfig(["--metrics-addr", "nope"], env)).toThrow(/metricsAddr: host:port/);
    const set = readConfig(["--metrics-addr", "127.0.0.1:9464"], env);
    expect(set !== "help" && set.metricsAddr).toBe("127.0.0.1:9464");
  });
});
