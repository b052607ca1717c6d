import { ScheduleDefinition } from "@gigafactory/schema";
import { describe, expect, it } from "vitest";
import { InvalidInputError } from "../../errors.js";
import { compile, dueTimesIn, firingKey, jitterFor, nextDue, nextDueTimes, plan } from "./next-times.js";

const def = (patch: Record<string, unknown>) =>
  ScheduleDefinition.parse({ id: "s", specs: [{ every: "1m" }], job: { bodyMd: "x" }, ...patch });
const iso = (dates: Date[]) => dates.map((date) => date.toISOString());
const NY = "America/New_York";

describe("next due times", () => {
  it("counts intervals from the epoch plus the phase", () => {
    const times = nextDueTimes(def({ specs: [{ every: "1h", phase: "15m" }] }), new Date("2026-01-01T10:15:00Z"), 2);
    expect(iso(times)).toEqual(["2026-01-01T11:15:00.000Z", "2026-01-01T12:15:00.000Z"]);
  });

  it("takes cron with seconds, strictly after the given time", () => {
    const times = nextDueTimes(def({ specs: [{ cron: "*/10 * * * * *" }] }), new Date("2026-01-01T00:00:10Z"), 2);
    expect(iso(times)).toEqual(["2026-01-01T00:00:20.000Z", "2026-01-01T00:00:30.000Z"]);
  });

  it("merges several specs and keeps within start and end", () => {
    const d = def({
      specs: [{ cron: "0 0 * * *" }, { cron: "0 12 * * *" }],
      startAt: "2026-01-02T00:00:00Z",
      endAt: "2026-01-03T00:00:00Z",
    });
    expect(iso(nextDueTimes(d, new Date("2025-12-01T00:00:00Z"), 10))).toEqual([
      "2026-01-02T00:00:00.000Z",
      "2026-01-02T12:00:00.000Z",
      "2026-01-03T00:00:00.000Z",
    ]);
  });

  it("names a cron expression croner refuses", () => {
    expect(() => compile([{ cron: "61 * * * *" }])).toThrow(InvalidInputError);
  });

  it("fires a skipped 02:30 once, an hour later (spring forward, New York)", () => {
    const d = def({ specs: [{ cron: "30 2 * * *", timezone: NY }] });
    const times = dueTimesIn(d, new Date("2026-03-07T12:00:00Z"), new Date("2026-03-09T12:00:00Z"), 10);
    // 2026-03-08 02:30 does not exist in New York: it fires once, at 03:30 EDT (07:30Z)
    expect(iso(times ?? [])).toEqual(["2026-03-08T07:30:00.000Z", "2026-03-09T06:30:00.000Z"]);
  });

  it("fires a repeated 01:30 once (fall back, New York)", () => {
    const d = def({ specs: [{ cron: "30 1 * * *", timezone: NY }] });
    const times = dueTimesIn(d, new Date("2026-10-31T12:00:00Z"), new Date("2026-11-02T12:00:00Z"), 10);
    // 01:30 EDT (05:30Z) only; 01:30 EST (06:30Z) an hour later is not fired again
    expect(iso(times ?? [])).toEqual(["2026-11-01T05:30:00.000Z", "2026-11-02T06:30:00.000Z"]);
  });

  it("bounds a backfill", () => {
    const d = def({ specs: [{ every: "1s" }] });
    expect(dueTimesIn(d, new Date(0), new Date(10_000), 5)).toBeNull();
    expect(dueTimesIn(d, new Date(0), new Date(4_000), 5)).toHaveLength(5);
  });
});

describe("plan", () => {
  const every = def({ specs: [{ every: "1m" }], catchUpWindow: "5m" });
  it("fires a due time inside the window", () => {
    const p = plan(every, new Date("2026-01-01T00:10:00Z"), new Date("2026-01-01T00:10:30Z"));
    expect(p).toEqual({ fire: new Date("2026-01-01T00:10:00Z"), missed: 0, next: new Date("2026-01-01T00:11:00Z") });
  });

  it("counts, and never fires, due times older than the window", () => {
    const p = plan(every, new Date("2026-01-01T00:00:00Z"), new Date("2026-01-01T00:10:30Z"));
    // 00:00 .. 00:05 are older than 00:05:30; 00:06 is the oldest one inside the window
    expect(p).toEqual({ fire: new Date("2026-01-01T00:06:00Z"), missed: 6, next: new Date("2026-01-01T00:07:00Z") });
  });

  it("fires nothing when every missed time is outside the window and the next is ahead", () => {
    const sparse = def({ specs: [{ every: "1h" }], catchUpWindow: "1m" });
    const p = plan(sparse, new Date("2026-01-01T00:00:00Z"), new Date("2026-01-01T00:30:00Z"));
    expect(p).toEqual({ fire: null, missed: 1, next: new Date("2026-01-01T01:00:00Z") });
  });
});

describe("keys and jitter", () => {
  it("names the due time in the key and keeps jitter fixed per due time and below its bound", () => {
    const due = new Date("2026-01-01T00:00:00Z");
    expect(firingKey("nightly", due)).toBe("schedule:nightly:2026-01-01T00:00:00.000Z");
    expect(jitterFor("p/s", due, 1_000)).toBe(jitterFor("p/s", due, 1_000));
    expect(jitterFor("p/s", due, 1_000)).toBeLessThan(1_000);
    expect(jitterFor("p/s", due, 0)).toBe(0);
  });

  it("nextDue is null past the end", () => {
    expect(nextDue(def({ endAt: "2026-01-01T00:00:00Z" }), new Date("2026-01-01T00:00:00Z"))).toBeNull();
  });
});
