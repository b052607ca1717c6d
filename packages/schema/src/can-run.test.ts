import { describe, expect, it } from "vitest";
import { type RunNeeds, type RunOffer, canRun } from "./can-run.js";

const factory: RunOffer = { state: "active", capabilities: ["os:linux", "docker"], engines: ["shell", "claude-code"] };
const job: RunNeeds = { engine: "shell", capabilities: ["os:linux"] };

describe("canRun", () => {
  it("runs a job whose engine is offered and whose capabilities are a subset of the factory's", () => {
    expect(canRun(factory, job)).toBe(true);
    expect(canRun(factory, { engine: "claude-code", capabilities: ["docker", "os:linux"] })).toBe(true);
  });

  it("runs a job that requires no capability, even on a factory that offers none", () => {
    expect(canRun({ ...factory, capabilities: [] }, { engine: "shell", capabilities: [] })).toBe(true);
  });

  it("refuses a job whose engine the factory does not offer", () => {
    expect(canRun(factory, { ...job, engine: "codex" })).toBe(false);
  });

  it("refuses a job that needs one capability the factory lacks, whatever else matches", () => {
    expect(canRun(factory, { ...job, capabilities: ["os:linux", "gpu"] })).toBe(false);
    expect(canRun({ ...factory, capabilities: [] }, job)).toBe(false);
  });

  it("compares capabilities exactly (no prefix or case folding)", () => {
    expect(canRun(factory, { ...job, capabilities: ["os"] })).toBe(false);
    expect(canRun(factory, { ...job, capabilities: ["OS:LINUX"] })).toBe(false);
  });

  it.each(["draining", "gone"] as const)("refuses any job on a %s factory", (state) => {
    expect(canRun({ ...factory, state }, job)).toBe(false);
  });
});
