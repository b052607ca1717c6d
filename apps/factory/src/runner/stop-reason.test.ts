import { describe, expect, it } from "vitest";
import { isSilent, nextStopReason, type StopReason } from "./stop-reason.js";

const ALL: StopReason[] = ["cancel", "drain", "fenced", "kill", "watchdog"];

describe("nextStopReason", () => {
  it("takes the first reason", () => {
    for (const reason of ALL) expect(nextStopReason(undefined, reason)).toBe(reason);
  });

  it("lets fenced, kill and watchdog override an earlier cancel or drain", () => {
    for (const earlier of ["cancel", "drain"] as const) {
      expect(nextStopReason(earlier, "fenced")).toBe("fenced");
      expect(nextStopReason(earlier, "kill")).toBe("kill");
      expect(nextStopReason(earlier, "watchdog")).toBe("watchdog");
    }
  });

  it("keeps a silencing reason, and the first of cancel and drain", () => {
    for (const silent of ["fenced", "kill", "watchdog"] as const)
      for (const later of ALL) expect(nextStopReason(silent, later)).toBe(silent);
    expect(nextStopReason("cancel", "drain")).toBe("cancel");
    expect(nextStopReason("drain", "cancel")).toBe("drain");
  });

  it("silences the runner only for fenced, kill and watchdog", () => {
    expect(ALL.filter(isSilent)).toEqual(["fenced", "kill", "watchdog"]);
    expect(isSilent(undefined)).toBe(false);
  });
});
