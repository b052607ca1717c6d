import { describe, expect, it } from "vitest";
import { FAILPOINTS, failpoint, parseFailpoints } from "./failpoints.js";

describe("parseFailpoints", () => {
  it("is off when the variable is unset or blank", () => {
    expect(parseFailpoints(undefined)).toBeUndefined();
    expect(parseFailpoints("  ")).toBeUndefined();
  });

  it("arms each named failpoint with its action", () => {
    expect(parseFailpoints("complete.afterMove=exit, cancel.afterMove=throw")).toEqual(
      new Map([
        ["complete.afterMove", "exit"],
        ["cancel.afterMove", "throw"],
      ]),
    );
  });

  it("refuses an unknown failpoint or action, so a test cannot arm nothing", () => {
    expect(() => parseFailpoints("complete.afterMvoe=exit")).toThrow(/unknown failpoint "complete.afterMvoe"/);
    expect(() => parseFailpoints("complete.afterMove=crash")).toThrow(/"throw" or "exit"/);
    expect(() => parseFailpoints("complete.afterMove")).toThrow(/"throw" or "exit"/);
  });
});

describe("failpoint", () => {
  it("does nothing in a process started without GF_FAILPOINTS", () => {
    expect(process.env.GF_FAILPOINTS).toBeUndefined();
    for (const name of FAILPOINTS) expect(() => failpoint(name)).not.toThrow();
  });
});
