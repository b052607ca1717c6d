import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestClient } from "./support/client.js";
import { Harness, claimOne, fenceOf, poll, registerFactory } from "./support/harness.js";
import { dueOf, firedJobs, sleep, storedSchedule } from "./support/schedules.js";

/**
 * The schedules API on a real coordinator: upsert by id, bad input, roles and products,
 * pause/resume/trigger/backfill, overlap policies with jobs that outlive their interval (no factory
 * claims them, so they stay unfinished), pause-on-failure and DST in a fixed time zone.
 */
let h: Harness;
let admin: TestClient;
beforeAll(async () => {
  h = await Harness.start("schedules");
  admin = h.admin;
});
afterAll(async () => {
  await h?.close();
});

const yearly = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  specs: [{ cron: "0 0 1 1 *" }],
  job: { bodyMd: `# ${id}\n\necho hi\n` },
  ...extra,
});
const everySecond = (id: string, overlap: string, extra: Record<string, unknown> = {}) => ({
  id,
  specs: [{ every: "1s" }],
  overlap: overlap as "skip",
  job: { bodyMd: `# ${id}\n\necho hi\n` },
  ...extra,
});
const settle = async (id: string) => {
  await admin.trpc.schedules.pause.mutate({ id });
  await poll(async () => (await storedSchedule(h, `default/${id}`)).firing === null, { what: `${id} not firing` });
};
const codeOf = (call: Promise<unknown>) =>
  call.then(
    () => "resolved",
    (error: { data?: { code?: string } }) => error.data?.code,
  );

describe("schedules API", () => {
  it("upserts by id: applying the same definition twice keeps one schedule and its due times", async () => {
    const first = await admin.trpc.schedules.create.mutate(yearly("nightly"));
    const again = await admin.trpc.schedules.create.mutate(yearly("nightly"));
    expect(first.created).toBe(true);
    expect(again.created).toBe(false);
    expect(again.schedule.rev).toBe(first.schedule.rev);
    expect(await h.db.collection("schedules").countDocuments({ id: "nightly" })).toBe(1);
    expect(first.schedule.nextDueTimes.map((date) => date.toISOString().slice(5, 16))).toEqual(
      Array(5).fill("01-01T00:00"),
    );
    const changed = await admin.trpc.schedules.create.mutate(yearly("nightly", { specs: [{ cron: "0 3 * * *" }] }));
    expect(changed.schedule.nextDueTimes[0]?.getUTCHours()).toBe(3);
    expect((await admin.trpc.schedules.list.query({})).map((s) => s.id)).toContain("nightly");
  });

  it("refuses bad input with a clear error and stores nothing", async () => {
    const before = await h.db.collection("schedules").countDocuments();
    const bad = admin.trpc.schedules.create.mutate(yearly("bad", { specs: [{ cron: "61 * * * *" }] }));
    await expect(bad).rejects.toMatchObject({ data: { code: "BAD_REQUEST" }, message: expect.stringContaining("61") });
    expect(await codeOf(admin.trpc.schedules.create.mutate(yearly("bad", { overlap: "queue" })))).toBe("BAD_REQUEST");
    expect(await codeOf(admin.trpc.schedules.update.mutate(yearly("absent")))).toBe("NOT_FOUND");
    expect(await h.db.collection("schedules").countDocuments()).toBe(before);
  });

  it("is for admin and service tokens, scoped to the caller's product", async () => {
    await admin.trpc.schedules.create.mutate(yearly("scoped"));
    const factory = await h.as("factory");
    const other = await h.as("service", "other-product");
    expect(await codeOf(factory.trpc.schedules.list.query({}))).toBe("FORBIDDEN");
    expect(await codeOf(other.trpc.schedules.get.query({ id: "scoped" }))).toBe("NOT_FOUND");
    expect(await other.trpc.schedules.list.query({})).toEqual([]);
    await other.trpc.schedules.create.mutate(yearly("scoped"));
    expect(await h.db.collection("schedules").countDocuments({ id: "scoped" })).toBe(2);
  });

  it("triggers now, backfills a range once, pauses with a note, resumes and deletes", async () => {
    await admin.trpc.schedules.create.mutate(yearly("ops", { specs: [{ cron: "0 6 * * *" }] }));
    const { jobId } = await admin.trpc.schedules.trigger.mutate({ id: "ops" });
    const triggered = await admin.trpc.jobs.get.query({ jobId });
    expect(triggered.scheduleId).toBe("default/ops");

    const range = { id: "ops", from: new Date("2026-01-01T00:00:00Z"), to: new Date("2026-01-03T23:00:00Z") };
    const backfilled = await admin.trpc.schedules.backfill.mutate(range);
    expect(backfilled.created).toBe(3);
    expect((await admin.trpc.schedules.backfill.mutate(range)).created).toBe(0);
    const keys = (await firedJobs(h, "default/ops")).map((job) => new Date(dueOf(job)).toISOString());
    expect(keys.slice(0, 3)).toEqual([
      "2026-01-01T06:00:00.000Z",
      "2026-01-02T06:00:00.000Z",
      "2026-01-03T06:00:00.000Z",
    ]);
    const tooMany = { id: "ops", from: new Date("2000-01-01T00:00:00Z"), to: new Date("2026-01-01T00:00:00Z") };
    expect(await codeOf(admin.trpc.schedules.backfill.mutate(tooMany))).toBe("BAD_REQUEST");

    const shown = await admin.trpc.schedules.get.query({ id: "ops" });
    expect(shown.actions).toBe(4);
    expect(shown.recent.map((action) => [action.kind, action.stage])).toEqual([
      ["trigger", "inbox"],
      ["backfill", "inbox"],
      ["backfill", "inbox"],
      ["backfill", "inbox"],
    ]);

    const paused = await admin.trpc.schedules.pause.mutate({ id: "ops", note: "holiday freeze" });
    expect([paused.paused, paused.note]).toEqual([true, "holiday freeze"]);
    const resumed = await admin.trpc.schedules.resume.mutate({ id: "ops" });
    expect([resumed.paused, resumed.note]).toEqual([false, undefined]);
    await admin.trpc.schedules.delete.mutate({ id: "ops" });
    expect(await codeOf(admin.trpc.schedules.get.query({ id: "ops" }))).toBe("NOT_FOUND");
  });

  it("fires nothing while paused and goes on after a resume", async () => {
    await admin.trpc.schedules.create.mutate(everySecond("pausing", "allowAll"));
    await poll(async () => (await firedJobs(h, "default/pausing")).length >= 2, { what: "firings" });
    await settle("pausing");
    const count = (await firedJobs(h, "default/pausing")).length;
    await sleep(2_500);
    expect((await firedJobs(h, "default/pausing")).length).toBe(count);
    await admin.trpc.schedules.resume.mutate({ id: "pausing" });
    await poll(async () => (await firedJobs(h, "default/pausing")).length > count, { what: "firing after resume" });
    await settle("pausing");
  });

  it("delays each job by its due time's jitter, below the bound", async () => {
    await admin.trpc.schedules.create.mutate(yearly("jittery", { specs: [{ every: "1h" }], jitter: "10m" }));
    const range = { id: "jittery", from: new Date("2026-01-01T00:00:00Z"), to: new Date("2026-01-01T09:00:00Z") };
    await admin.trpc.schedules.backfill.mutate(range);
    const delays = (await firedJobs(h, "default/jittery")).map((job) => job.notBefore.getTime() - dueOf(job));
    expect(delays).toHaveLength(10);
    expect(delays.every((delay) => delay >= 0 && delay < 600_000)).toBe(true);
    expect(new Set(delays).size).toBeGreaterThan(1);
  });

  it("fires a skipped 02:30 once and a repeated 01:30 once in New York (backfill over DST days)", async () => {
    const ny = (id: string, cron: string) => yearly(id, { specs: [{ cron, timezone: "America/New_York" }] });
    await admin.trpc.schedules.create.mutate(ny("spring", "30 2 * * *"));
    await admin.trpc.schedules.create.mutate(ny("fall", "30 1 * * *"));
    await admin.trpc.schedules.backfill.mutate({
      id: "spring",
      from: new Date("2026-03-07T00:00:00Z"),
      to: new Date("2026-03-09T12:00:00Z"),
    });
    await admin.trpc.schedules.backfill.mutate({
      id: "fall",
      from: new Date("2026-10-31T00:00:00Z"),
      to: new Date("2026-11-02T12:00:00Z"),
    });
    const iso = async (id: string) =>
      (await firedJobs(h, `default/${id}`)).map((job) => new Date(dueOf(job)).toISOString());
    expect(await iso("spring")).toEqual([
      "2026-03-07T07:30:00.000Z",
      "2026-03-08T07:30:00.000Z",
      "2026-03-09T06:30:00.000Z",
    ]);
    expect(await iso("fall")).toEqual([
      "2026-10-31T05:30:00.000Z",
      "2026-11-01T05:30:00.000Z",
      "2026-11-02T06:30:00.000Z",
    ]);
  });
});

describe("overlap policies (the fired job outlives its interval)", () => {
  it("skip: no new job while the last one is unfinished, then fires again", async () => {
    await admin.trpc.schedules.create.mutate(everySecond("skip", "skip"));
    await poll(async () => (await storedSchedule(h, "default/skip")).skipped >= 2, { what: "skipped due times" });
    const [first, ...more] = await firedJobs(h, "default/skip");
    expect(more).toEqual([]);
    await admin.trpc.jobs.cancel.mutate({ jobId: first?._id ?? "" });
    await poll(async () => (await firedJobs(h, "default/skip")).length === 2, { what: "the next firing" });
    await settle("skip");
  });

  it("bufferOne: keeps one due time and fires it when the running job ends", async () => {
    await admin.trpc.schedules.create.mutate(everySecond("buffer", "bufferOne"));
    await poll(async () => (await storedSchedule(h, "default/buffer")).skipped >= 1, { what: "a replaced buffer" });
    const [first, ...more] = await firedJobs(h, "default/buffer");
    expect(more).toEqual([]);
    await admin.trpc.schedules.pause.mutate({ id: "buffer" });
    const buffered = (await storedSchedule(h, "default/buffer")).buffered;
    expect(buffered).not.toBeNull();
    await admin.trpc.jobs.cancel.mutate({ jobId: first?._id ?? "" });
    await admin.trpc.schedules.resume.mutate({ id: "buffer" });
    await poll(async () => (await firedJobs(h, "default/buffer")).length >= 2, { what: "the buffered firing" });
    const second = (await firedJobs(h, "default/buffer"))[1];
    expect(second && dueOf(second)).toBe(buffered?.getTime());
    await settle("buffer");
  });

  it("cancelOther: the next due time cancels the unfinished job; one runs at a time", async () => {
    await admin.trpc.schedules.create.mutate(everySecond("cancel", "cancelOther"));
    await poll(async () => (await firedJobs(h, "default/cancel")).length >= 3, { what: "three firings" });
    await settle("cancel");
    const jobs = await firedJobs(h, "default/cancel");
    expect(jobs.filter((job) => job.stage !== "cancelled").map((job) => job._id)).toEqual([jobs.at(-1)?._id]);
    expect(jobs.slice(0, -1).every((job) => job.reason?.includes("overlap cancelOther"))).toBe(true);
  });

  it("allowAll: fires every due time whatever runs", async () => {
    await admin.trpc.schedules.create.mutate(everySecond("all", "allowAll"));
    await poll(async () => (await firedJobs(h, "default/all")).length >= 3, { what: "three firings" });
    await settle("all");
    const jobs = await firedJobs(h, "default/all");
    expect(jobs.every((job) => job.stage === "inbox")).toBe(true);
  });
});

describe("pause on failure", () => {
  it("pauses with a note naming the failed job, and a resume fires again", async () => {
    const factory = await h.as("factory");
    const factoryId = await registerFactory(factory);
    const def = everySecond("fragile", "skip", {
      pauseOnFailure: true,
      job: { bodyMd: "false", maxAttempts: 1, priority: 1_000 },
    });
    await admin.trpc.schedules.create.mutate(def);
    // the earlier tests' jobs wait in the inbox too: this one's priority puts it first
    await poll(async () => (await firedJobs(h, "default/fragile")).length === 1, { what: "the first firing" });
    const claimed = await claimOne(factory, factoryId);
    expect(claimed.job.scheduleId).toBe("default/fragile");
    await factory.trpc.factory.complete.mutate({ ...fenceOf(claimed, factoryId), result: "failure" });
    const paused = await poll(
      async () => {
        const s = await storedSchedule(h, "default/fragile");
        return s.paused && s;
      },
      { what: "the pause" },
    );
    expect(paused.note).toContain(claimed.job._id);
    expect((await firedJobs(h, "default/fragile")).length).toBe(1);
    await admin.trpc.schedules.resume.mutate({ id: "fragile" });
    await poll(async () => (await firedJobs(h, "default/fragile")).length === 2, { what: "a firing after resume" });
    await settle("fragile");
  });
});
