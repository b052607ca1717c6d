import { describe, expect, it } from "vitest";
import { ScheduleDefinition } from "./schedule.js";

const job = { bodyMd: "echo hi" };

describe("ScheduleDefinition", () => {
  it("fills the defaults", () => {
    const def = ScheduleDefinition.parse({ id: "nightly", specs: [{ cron: "0 3 * * *" }], job });
    expect(def).toMatchObject({ overlap: "skip", catchUpWindow: 3_600_000, jitter: 0, pauseOnFailure: false });
    expect(def.job.engine).toBe("shell");
  });

  it("takes intervals with a phase, durations as text", () => {
    const def = ScheduleDefinition.parse({ id: "a", specs: [{ every: "1h", phase: "15m" }], job, jitter: "30s" });
    expect(def.specs[0]).toEqual({ every: 3_600_000, phase: 900_000 });
    expect(def.jitter).toBe(30_000);
  });

  it.each([
    [{ specs: [] }, "needs at least one spec"],
    [{ specs: [{ cron: "* * *" }] }, "5 fields"],
    [{ specs: [{ cron: "* * * * *", timezone: "Mars/Olympus" }] }, "IANA time zone"],
    [{ specs: [{ every: "500ms" }] }, "at least 1000"],
    [{ specs: [{ every: "1m", phase: "2m" }] }, "phase must be shorter"],
    [{ specs: [{ every: "1m" }], startAt: "2026-02-01", endAt: "2026-01-01" }, "endAt must be after"],
    [{ specs: [{ every: "1m" }], overlap: "queue" }, "skip"],
    [{ specs: [{ every: "1m" }], job: { bodyMd: "x", idempotencyKey: "k" } }, "idempotencyKey"],
  ])("refuses %j with a clear message", (patch, message) => {
    const base: Record<string, unknown> = { id: "s", specs: [{ every: "1m" }], job };
    const result = ScheduleDefinition.safeParse({ ...base, ...patch });
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error?.issues)).toContain(message);
  });
});
