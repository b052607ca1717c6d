import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { Factory } from "./factory.js";

function rejectedAt(schema: z.ZodType, value: unknown): PropertyKey[][] {
  const result = schema.safeParse(value);
  if (result.success) throw new Error(`expected ${JSON.stringify(value)} to be rejected`);
  return result.error.issues.map((issue) => issue.path);
}

const now = new Date("2026-01-02T03:04:05Z");

const factory = {
  _id: "acme:factory-1",
  productId: "acme",
  factoryId: "factory-1",
  descriptor: { host: "build-01", pid: 4242, os: "linux", arch: "x64", version: "0.1.0" },
  capabilities: ["os:linux", "docker"],
  engines: ["shell", "claude-code"],
  seatLimit: 4,
  load: { running: 1, jobIds: ["job-1"], loadAvg: 0.7 },
  health: { ok: true, freeDiskMb: 20_000, rssMb: 120 },
  state: "active",
  registeredAt: now,
  lastHeartbeatAt: now,
};

describe("Factory", () => {
  it("parses a registered factory", () => {
    expect(Factory.parse(factory)).toEqual(factory);
  });

  it("fills load.jobIds with an empty list when absent", () => {
    expect(Factory.parse({ ...factory, load: { running: 0 } }).load.jobIds).toEqual([]);
  });

  it.each(["active", "draining", "gone"])("accepts state %s", (state) => {
    expect(Factory.parse({ ...factory, state }).state).toBe(state);
  });

  it("refuses an unknown state at state", () => {
    expect(rejectedAt(Factory, { ...factory, state: "paused" })).toEqual([["state"]]);
  });

  it("refuses zero seats", () => {
    expect(rejectedAt(Factory, { ...factory, seatLimit: 0 })).toEqual([["seatLimit"]]);
  });

  it("refuses a descriptor without a host", () => {
    const { host, ...descriptor } = factory.descriptor;
    expect(rejectedAt(Factory, { ...factory, descriptor })).toEqual([["descriptor", "host"]]);
  });

  it("refuses negative running jobs and a missing productId", () => {
    const { productId, ...rest } = factory;
    expect(rejectedAt(Factory, { ...rest, load: { running: -1 } })).toEqual([["productId"], ["load", "running"]]);
  });

  it("refuses a bad engine id at its index", () => {
    expect(rejectedAt(Factory, { ...factory, engines: ["shell", "Claude Code"] })).toEqual([["engines", 1]]);
  });
});
