import { afterEach, describe, expect, it } from "vitest";
import { Harness, poll } from "./support/harness.js";
import { dueOf, firedJobs, gaps, sleep, storedSchedule } from "./support/schedules.js";

/**
 * Schedules on real coordinator processes sharing one database: each due time fires once however
 * many coordinators serve it, a coordinator dying mid-fire loses and doubles nothing, and due
 * times missed by more than the catch-up window are counted, not fired.
 */
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const everySecond = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  specs: [{ every: "1s" }],
  overlap: "allowAll" as const,
  job: { bodyMd: `# ${id}\n\necho tick\n` },
  ...extra,
});

describe("schedules on several coordinators", () => {
  it("fires each due time of an every-second schedule exactly once on 3 coordinators", async () => {
    h = await Harness.start("sched-three");
    await h.second();
    await h.second();
    await h.admin.trpc.schedules.create.mutate(everySecond("tick"));
    // ten seconds of due times, counted by what was fired (bounded)
    await poll(async () => (await firedJobs(h as Harness, "default/tick")).length >= 10, {
      tries: 600,
      what: "ten fired due times",
    });
    await h.admin.trpc.schedules.pause.mutate({ id: "tick", note: "test over" });
    await poll(async () => (await storedSchedule(h as Harness, "default/tick")).firing === null, { what: "no firing" });

    const jobs = await firedJobs(h, "default/tick");
    const schedule = await storedSchedule(h, "default/tick");
    expect(new Set(jobs.map(dueOf)).size).toBe(jobs.length);
    expect(gaps(jobs, 1_000)).toEqual([]);
    expect(jobs.every((job) => dueOf(job) % 1_000 === 0)).toBe(true);
    expect(schedule.actions).toBe(jobs.length);
    expect(schedule.missed).toBe(0);
  });

  it("loses and doubles nothing when a coordinator dies between the claim and the job", async () => {
    h = await Harness.start("sched-crash", {
      env: { GF_FAILPOINTS: "schedule.afterClaim=exit", GF_SCHEDULE_FIRING_LEASE: "2s" },
    });
    await h.admin.trpc.schedules.create.mutate(everySecond("crash"));
    // the first claim kills the coordinator: the firing is written, its job is not
    expect(await poll(() => Promise.resolve((h as Harness).coordinator.process.exitCode), { what: "the exit" })).toBe(
      137,
    );
    const orphan = await storedSchedule(h, "default/crash");
    expect(orphan.firing).not.toBeNull();
    expect(await firedJobs(h, "default/crash")).toEqual([]);
    const crashedDue = orphan.firing?.dueAt.getTime() ?? 0;

    const survivor = await h.second({ GF_SCHEDULE_FIRING_LEASE: "2s" });
    const admin = h.client(h.coordinator.adminToken, survivor.url);
    await poll(async () => (await firedJobs(h as Harness, "default/crash")).length >= 4, {
      tries: 600,
      what: "the crashed due time and later ones fired",
    });
    await admin.trpc.schedules.pause.mutate({ id: "crash" });
    await poll(async () => (await storedSchedule(h as Harness, "default/crash")).firing === null, {
      what: "no firing",
    });

    const jobs = await firedJobs(h, "default/crash");
    expect(dueOf(jobs[0] as (typeof jobs)[0])).toBe(crashedDue);
    expect(new Set(jobs.map(dueOf)).size).toBe(jobs.length);
    const schedule = await storedSchedule(h, "default/crash");
    // due times between the crash and the survivor's start are within the 1 h window: fired, not missed
    expect(gaps(jobs, 1_000)).toEqual([]);
    expect(schedule.actions).toBe(jobs.length);
    expect(jobs.every((job) => job.scheduleId === "default/crash")).toBe(true);
  });

  it("counts the due times a coordinator was down for beyond the catch-up window, and fires none", async () => {
    h = await Harness.start("sched-catchup");
    await h.admin.trpc.schedules.create.mutate(everySecond("late", { catchUpWindow: "2s" }));
    await poll(async () => (await firedJobs(h as Harness, "default/late")).length >= 2, { what: "first firings" });
    // stopped gracefully (a pass in flight finishes), keeping its data dir for the next one
    const exited = new Promise((resolve) => h?.coordinator.process.once("exit", resolve));
    h.coordinator.process.kill("SIGTERM");
    await exited;
    const before = await firedJobs(h, "default/late");
    const lastBefore = dueOf(before.at(-1) as (typeof before)[0]);
    await sleep(6_000); // down for three times the window

    const next = await h.second();
    const admin = h.client(h.coordinator.adminToken, next.url);
    await poll(async () => (await firedJobs(h as Harness, "default/late")).length >= before.length + 2, {
      tries: 600,
      what: "firings after the restart",
    });
    await admin.trpc.schedules.pause.mutate({ id: "late" });
    await poll(async () => (await storedSchedule(h as Harness, "default/late")).firing === null, { what: "no firing" });

    const jobs = await firedJobs(h, "default/late");
    const firstAfter = dueOf(jobs[before.length] as (typeof jobs)[0]);
    const schedule = await storedSchedule(h, "default/late");
    // every due time between the last one fired before and the first one fired after is a miss
    expect(firstAfter - lastBefore).toBeGreaterThan(2_000);
    expect(schedule.missed).toBe((firstAfter - lastBefore) / 1_000 - 1);
    expect(gaps(jobs.slice(before.length), 1_000)).toEqual([]);
    expect(schedule.actions).toBe(jobs.length);
  });
});
