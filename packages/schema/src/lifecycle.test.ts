import { describe, expect, it } from "vitest";
import { TRANSITIONS, canTransition, stagesLeadingTo } from "./lifecycle.js";
import { ACTIVE_STAGES, Stage, TERMINAL_STAGES, isActiveStage, isTerminalStage } from "./stages.js";

const STAGES = Stage.options;

/**
 * The allowed transitions written out independently of lifecycle.ts, so that an
 * accidental edit to the table shows up here as well as in the apps.
 */
const EXPECTED = new Set([
  "inbox>building",
  "inbox>cancelled",
  "inbox>failed",
  // a composite job ships when its children have, without ever being leased
  "inbox>shipped",
  "building>review",
  "building>testing",
  "building>shipped",
  "building>inbox",
  "building>failed",
  "building>cancelled",
  "review>testing",
  "review>shipped",
  "review>inbox",
  "review>failed",
  "review>cancelled",
  // a human review parks a job after its verify gates passed
  "testing>review",
  "testing>shipped",
  "testing>inbox",
  "testing>failed",
  "testing>cancelled",
  "failed>inbox",
  "cancelled>inbox",
]);

describe("TRANSITIONS", () => {
  it("has an entry for each of the seven stages and names only stages", () => {
    expect(STAGES).toHaveLength(7);
    expect(Object.keys(TRANSITIONS).sort()).toEqual([...STAGES].sort());
    for (const targets of Object.values(TRANSITIONS)) {
      for (const to of targets) expect(STAGES).toContain(to);
    }
  });

  it("is exactly the expected table", () => {
    const pairs = STAGES.flatMap((from) => TRANSITIONS[from].map((to) => `${from}>${to}`));
    expect(new Set(pairs)).toEqual(EXPECTED);
    expect(pairs).toHaveLength(EXPECTED.size);
  });

  it("has no self-transitions", () => {
    for (const stage of STAGES) expect(TRANSITIONS[stage]).not.toContain(stage);
  });
});

describe("canTransition", () => {
  const pairs = STAGES.flatMap((from) => STAGES.map((to) => [from, to] as const));

  it("covers all 49 pairs", () => {
    expect(pairs).toHaveLength(49);
  });

  it.each(pairs)("%s → %s agrees with the table", (from, to) => {
    expect(canTransition(from, to)).toBe(EXPECTED.has(`${from}>${to}`));
  });

  it("accepts every transition listed in TRANSITIONS", () => {
    for (const from of STAGES) for (const to of TRANSITIONS[from]) expect(canTransition(from, to)).toBe(true);
  });

  it("refuses to leave shipped", () => {
    for (const to of STAGES) expect(canTransition("shipped", to)).toBe(false);
  });

  it("allows a failed or cancelled job to be retried, and nothing else", () => {
    expect(canTransition("failed", "inbox")).toBe(true);
    expect(canTransition("cancelled", "inbox")).toBe(true);
    expect(canTransition("failed", "building")).toBe(false);
    expect(canTransition("failed", "shipped")).toBe(false);
    expect(canTransition("cancelled", "shipped")).toBe(false);
  });

  it("never skips the claim: inbox cannot jump to review or testing", () => {
    expect(canTransition("inbox", "review")).toBe(false);
    expect(canTransition("inbox", "testing")).toBe(false);
  });

  it("never goes back to building without passing through inbox", () => {
    expect(canTransition("review", "building")).toBe(false);
    expect(canTransition("testing", "building")).toBe(false);
  });

  it("lets every active stage be cancelled, fail, or go back to inbox", () => {
    for (const stage of ACTIVE_STAGES) {
      expect(canTransition(stage, "cancelled")).toBe(true);
      expect(canTransition(stage, "failed")).toBe(true);
      expect(canTransition(stage, "inbox")).toBe(true);
    }
  });
});

describe("stagesLeadingTo", () => {
  it("names the stages a job can reach inbox from", () => {
    expect(stagesLeadingTo("inbox").sort()).toEqual(["building", "cancelled", "failed", "review", "testing"]);
  });

  it("names the stages a job can ship from", () => {
    expect(stagesLeadingTo("shipped").sort()).toEqual(["building", "inbox", "review", "testing"]);
  });

  it("has only inbox leading to building", () => {
    expect(stagesLeadingTo("building")).toEqual(["inbox"]);
  });

  it.each(STAGES)("is the inverse of the table for %s", (to) => {
    const expected = STAGES.filter((from) => EXPECTED.has(`${from}>${to}`));
    expect(stagesLeadingTo(to).sort()).toEqual(expected.sort());
  });
});

describe("stage groups", () => {
  it("splits the stages into inbox, active and terminal", () => {
    expect(STAGES.filter(isActiveStage)).toEqual(["building", "review", "testing"]);
    expect(STAGES.filter(isTerminalStage)).toEqual(["shipped", "failed", "cancelled"]);
    expect(STAGES.filter((stage) => !isActiveStage(stage) && !isTerminalStage(stage))).toEqual(["inbox"]);
    expect([...ACTIVE_STAGES, ...TERMINAL_STAGES]).toHaveLength(6);
  });
});
