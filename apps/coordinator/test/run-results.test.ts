import type { Job, JobEvent, Run } from "@gigafactory/schema";
import { afterEach, describe, expect, it } from "vitest";
import { codeOf, rejection } from "./support/client.js";
import { Harness, claimOne, createJob, fenceOf, poll, registerFactory } from "./support/harness.js";

/**
 * Every run ends with the result that fits it, and each has its own number: a run whose
 * completion is refused as FENCED ends `fenced`, an undone claim's run `released`; a stage change
 * whose coordinator died before its event and run update leaves neither a hole in the job's
 * events nor an open run once the reaper caught up.
 */
describe("runs end with the right result", () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  const runsOf = (harness: Harness, jobId: string) =>
    harness.db.collection<Run>("runs").find({ jobId }).sort({ epoch: 1 }).toArray();
  const eventsOf = (harness: Harness, jobId: string) =>
    harness.db.collection<JobEvent>("events").find({ jobId }).sort({ seq: 1 }).toArray();
  const jobOf = (harness: Harness, jobId: string) => harness.db.collection<Job>("jobs").findOne({ _id: jobId });

  /** The job's event seqs are 1..eventSeq, with no hole and no twin. */
  async function contiguous(harness: Harness, jobId: string): Promise<JobEvent[]> {
    const job = await jobOf(harness, jobId);
    const events = await eventsOf(harness, jobId);
    expect(events.map((event) => event.seq)).toEqual(Array.from({ length: job?.eventSeq ?? -1 }, (_, i) => i + 1));
    return events;
  }

  it("run numbers are never reused: a release and a retry give attempts back, not run numbers", async () => {
    h = await Harness.start("run-numbers", { env: { GF_BACKOFF_BASE: "0s" } });
    const service = await h.as("service");
    const factory = await h.as("factory");
    const factoryId = await registerFactory(factory);
    const job = await createJob(service, { maxAttempts: 1 });

    const first = await claimOne(factory, factoryId);
    await factory.trpc.factory.release.mutate({ ...fenceOf(first, factoryId), reason: "drain" });
    const second = await claimOne(factory, factoryId);
    expect(second.job.attempt).toBe(1);
    await factory.trpc.factory.complete.mutate({ ...fenceOf(second, factoryId), result: "failure" });
    expect(await jobOf(h, job._id)).toMatchObject({ stage: "failed" });
    await service.trpc.jobs.retry.mutate({ jobId: job._id });
    const third = await claimOne(factory, factoryId);
    await factory.trpc.factory.complete.mutate({ ...fenceOf(third, factoryId), result: "success" });

    const runs = await runsOf(h, job._id);
    expect(runs.map((run) => [run.attempt, run.result])).toEqual([
      [1, "released"],
      [2, "failure"],
      [3, "success"],
    ]);
  });

  it("an undone claim ends its run released, and the job's next run has a new number", async () => {
    h = await Harness.start("run-undone", { env: { GF_FAILPOINTS: "claim.afterRun=throw" } });
    const service = await h.as("service");
    const factory = await h.as("factory");
    const factoryId = await registerFactory(factory);
    const job = await createJob(service);

    const error = await rejection(factory.trpc.factory.claim.mutate({ factoryId }));
    expect(codeOf(error).code).toBe("INTERNAL_SERVER_ERROR");
    expect(await jobOf(h, job._id)).toMatchObject({ stage: "inbox", attempt: 0, lease: { holder: null } });
    const [run] = await runsOf(h, job._id);
    expect(run).toMatchObject({ attempt: 1, result: "released", endedAt: expect.any(Date) });

    // the claim fails the same way again: the second run is number 2
    await rejection(factory.trpc.factory.claim.mutate({ factoryId }));
    expect((await runsOf(h, job._id)).map((r) => [r.attempt, r.result])).toEqual([
      [1, "released"],
      [2, "released"],
    ]);
    await contiguous(h, job._id);
  });

  it("a completion refused as FENCED ends the open run of its epoch as fenced", async () => {
    // the short-lease coordinator dies right after its reaper took the lease back (run and event not written)
    h = await Harness.start("run-fenced", { env: { GF_LEASE_TTL: "1s", GF_FAILPOINTS: "reap.afterMove=exit" } });
    const service = await h.as("service");
    const token = await h.token("factory");
    const short = h.client(token);
    const factoryId = await registerFactory(short);
    const job = await createJob(service);
    const held = await claimOne(short, factoryId);
    expect(held.job._id).toBe(job._id);
    // a long-lease coordinator, whose reaper does not sweep during the test, answers the factory
    const long = await h.second({ GF_LEASE_TTL: "1h" });
    const exitCode = await poll(async () => h?.coordinator.process.exitCode ?? false, {
      tries: 400,
      everyMs: 100,
      what: "the armed coordinator to reap and exit",
    });
    expect(exitCode).toBe(137);
    expect((await runsOf(h, job._id))[0]?.result).toBeUndefined();

    const factory = h.client(token, long.url);
    const refused = await rejection(
      factory.trpc.factory.complete.mutate({ ...fenceOf(held, factoryId), result: "success" }),
    );
    expect(codeOf(refused)).toEqual({ code: "CONFLICT", reason: "FENCED" });
    expect(await runsOf(h, job._id)).toMatchObject([{ epoch: held.epoch, result: "fenced" }]);
  });

  it("complete fails after the move and its retry is FENCED: the run gets the retried completion", async () => {
    h = await Harness.start("run-complete-retry", { env: { GF_FAILPOINTS: "complete.afterMove=throw" } });
    const service = await h.as("service");
    const factory = await h.as("factory");
    const factoryId = await registerFactory(factory);
    const job = await createJob(service);
    const held = await claimOne(factory, factoryId);
    const completion = {
      ...fenceOf(held, factoryId),
      result: "success" as const,
      insights: { turns: 3 },
      exit: { code: 0, signal: null },
    };
    expect(codeOf(await rejection(factory.trpc.factory.complete.mutate(completion))).code).toBe(
      "INTERNAL_SERVER_ERROR",
    );
    expect(codeOf(await rejection(factory.trpc.factory.complete.mutate(completion)))).toEqual({
      code: "CONFLICT",
      reason: "FENCED",
    });
    expect(await runsOf(h, job._id)).toMatchObject([
      { result: "success", insights: { turns: 3 }, exit: { code: 0 }, endedAt: expect.any(Date) },
    ]);
  });

  it("complete dies after the move: the reaper fills its event and ends its run", async () => {
    h = await Harness.start("run-complete-crash", { env: { GF_FAILPOINTS: "complete.afterMove=exit" } });
    const service = await h.as("service");
    const token = await h.token("factory");
    const factory = h.client(token);
    const factoryId = await registerFactory(factory);
    const job = await createJob(service);
    const held = await claimOne(factory, factoryId);
    await factory.trpc.factory.appendEvents.mutate({
      ...fenceOf(held, factoryId),
      events: [{ type: "log", data: { line: "working" } }],
    });
    await rejection(factory.trpc.factory.complete.mutate({ ...fenceOf(held, factoryId), result: "success" }));
    await poll(async () => h?.coordinator.process.exitCode ?? false, { what: "the armed coordinator to exit" });
    const shipped = await jobOf(h, job._id);
    expect(shipped).toMatchObject({ stage: "shipped", settle: { owedSince: expect.any(Date) } });
    // the seq of the `completed` event was reserved and never written
    expect((await eventsOf(h, job._id)).length).toBe((shipped?.eventSeq ?? 0) - 1);

    // a clean coordinator's reaper catches up (a short lease only makes it sweep often)
    await h.second({ GF_LEASE_TTL: "2s" });
    await poll(async () => (await jobOf(h as Harness, job._id))?.settle === undefined, {
      tries: 400,
      everyMs: 100,
      what: "the reaper to catch up",
    });
    const events = await contiguous(h, job._id);
    expect(events.at(-1)).toMatchObject({ type: "completed", data: { recovered: true, result: "success" } });
    expect(await runsOf(h, job._id)).toMatchObject([{ result: "success", endedAt: expect.any(Date) }]);
  });

  it("the reaper dies after the move: the next one fills the lost event and ends the run lost", async () => {
    h = await Harness.start("run-reap-crash", { env: { GF_LEASE_TTL: "1s", GF_FAILPOINTS: "reap.afterMove=exit" } });
    const service = await h.as("service");
    const factory = await h.as("factory");
    const factoryId = await registerFactory(factory);
    const job = await createJob(service, { maxAttempts: 3 });
    await claimOne(factory, factoryId);
    await poll(async () => h?.coordinator.process.exitCode ?? false, {
      tries: 400,
      everyMs: 100,
      what: "the armed coordinator to reap and exit",
    });
    expect(await jobOf(h, job._id)).toMatchObject({ stage: "inbox", settle: { owedSince: expect.any(Date) } });

    await h.second({ GF_LEASE_TTL: "2s" });
    await poll(async () => (await jobOf(h as Harness, job._id))?.settle === undefined, {
      tries: 400,
      everyMs: 100,
      what: "the reaper to catch up",
    });
    const events = await contiguous(h, job._id);
    expect(events.at(-1)).toMatchObject({ type: "lost", data: { recovered: true, stage: "inbox" } });
    expect(await runsOf(h, job._id)).toMatchObject([{ result: "lost", endedAt: expect.any(Date) }]);
  });
});
