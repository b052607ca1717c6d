import type { ClaimedJob, Job } from "@gigafactory/schema";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_TIMINGS } from "../src/options.js";
import type { TestClient } from "./support/client.js";
import { Harness, createJob, fenceOf, poll, registerFactory } from "./support/harness.js";

/**
 * The claim path remembers the factory and the held lock names between claims
 * (`FactoriesService.forClaim`, `leases/held-locks.ts`), and writes the runs and claimed events
 * of one call together. Two real coordinators on one database: what one remembers must never let
 * a drained factory claim past the bound, or two jobs hold one lock.
 */
describe("claim caches and multi-seat claims", () => {
  let h: Harness;
  let service: TestClient;
  let factory: TestClient;
  /** The same factory token, through the second coordinator. */
  let viaB: TestClient;
  /** The admin, through the second coordinator. */
  let adminB: TestClient;
  beforeAll(async () => {
    h = await Harness.start("claim-caches");
    service = await h.as("service");
    const token = await h.token("factory");
    factory = h.client(token);
    const b = await h.second();
    viaB = h.client(token, b.url);
    adminB = h.client(h.coordinator.adminToken, b.url);
  });
  afterAll(() => h?.close());

  const claim = async (client: TestClient, factoryId: string, max = 1): Promise<ClaimedJob[]> =>
    (await client.trpc.factory.claim.mutate({ factoryId, max })).jobs;
  const jobOf = async (id: string) => h.db.collection<Job>("jobs").findOne({ _id: id });

  it("a drain through this coordinator stops the factory's very next claim here", async () => {
    const factoryId = await registerFactory(factory, { capabilities: ["drain-here"] });
    // a claim with nothing to take: the coordinator now remembers the factory as active
    expect(await claim(factory, factoryId)).toEqual([]);
    const job = await createJob(service, { capabilities: ["drain-here"] });
    await h.admin.trpc.admin.drain.mutate({ factoryId });
    expect(await claim(factory, factoryId)).toEqual([]);
    expect(await jobOf(job._id)).toMatchObject({ stage: "inbox", attempt: 0 });
    // and a re-register through it (which ends the drain) is seen at once too
    await registerFactory(factory, { factoryId, capabilities: ["drain-here"] });
    expect((await claim(factory, factoryId)).map((c) => c.job._id)).toEqual([job._id]);
  });

  it("a drain through another coordinator stops claims here once the cache bound has passed", async () => {
    const factoryId = await registerFactory(factory, { capabilities: ["drain-there"] });
    expect(await claim(factory, factoryId)).toEqual([]);
    await adminB.trpc.admin.drain.mutate({ factoryId });
    // the bound is `caches.claimFactoryMs`; wait it out twice over (a bound, not a measurement)
    await new Promise((resolve) => setTimeout(resolve, 2 * DEFAULT_TIMINGS.caches.claimFactoryMs + 200));
    const job = await createJob(service, { capabilities: ["drain-there"] });
    expect(await claim(factory, factoryId)).toEqual([]);
    expect(await jobOf(job._id)).toMatchObject({ stage: "inbox", attempt: 0 });
  });

  it("a lock taken through another coordinator is never held twice, and its job is claimable here once freed", async () => {
    const capability = "lock-across";
    const f1 = await registerFactory(factory, { capabilities: [capability] });
    const f2 = await registerFactory(factory, { capabilities: [capability] });
    // this coordinator reads the product's held lock names now (none) and remembers them
    expect(await claim(factory, f2)).toEqual([]);
    const first = await createJob(service, { lock: "across", priority: 9, capabilities: [capability] });
    const second = await createJob(service, { lock: "across", priority: 8, capabilities: [capability] });
    const free = await createJob(service, { priority: 1, capabilities: [capability] });

    const [held] = await claim(viaB, f1);
    expect(held?.job._id).toBe(first._id);
    // here the lock may still be remembered as free: the locked job collides, goes back, and the free one is taken
    expect((await claim(factory, f2, 5)).map((c) => c.job._id)).toEqual([free._id]);
    expect(await jobOf(second._id)).toMatchObject({ stage: "inbox", attempt: 0, lease: { holder: null } });
    expect(await h.db.collection("locks").find({ name: "across" }).toArray()).toEqual([
      expect.objectContaining({ jobId: first._id, epoch: held?.epoch }),
    ]);
    if (!held) throw new Error("no claim");

    // freed through the other coordinator: its completed event reaches this one, and the job is claimed here
    await viaB.trpc.factory.complete.mutate({ ...fenceOf(held, f1), result: "success" });
    const [next] = await poll(
      async () => {
        const got = await claim(factory, f2);
        return got.length ? got : undefined;
      },
      { tries: 100, everyMs: 100, what: "the freed lock's job to be claimable here" },
    );
    expect(next?.job._id).toBe(second._id);
  });

  it("first tries keep to the seat limit, and a seat freed through another coordinator is claimable here at once", async () => {
    const capability = "seats-first-try";
    const factoryId = await registerFactory(factory, { capabilities: [capability], seatLimit: 2 });
    const jobs = await Promise.all(
      [3, 2, 1].map((priority) => createJob(service, { priority, capabilities: [capability] })),
    );
    const firstTry = async (client: TestClient) =>
      (await client.trpc.factory.claim.mutate({ factoryId, max: 1, requestId: crypto.randomUUID(), retry: false }))
        .jobs;
    const [one] = await firstTry(factory);
    const [two] = await firstTry(factory);
    expect([one?.job._id, two?.job._id]).toEqual([jobs[0]?._id, jobs[1]?._id]);
    // both seats are taken (this coordinator counted them): nothing more, however it is asked
    expect(await firstTry(factory)).toEqual([]);
    expect(await claim(factory, factoryId, 5)).toEqual([]);
    expect(await jobOf(String(jobs[2]?._id))).toMatchObject({ stage: "inbox", lease: { holder: null } });

    // one finishes through the other coordinator: the remembered count leaves no room, so it is read again
    if (!one) throw new Error("no claim");
    await viaB.trpc.factory.complete.mutate({ ...fenceOf(one, factoryId), result: "success" });
    expect((await firstTry(factory)).map((c) => c.job._id)).toEqual([jobs[2]?._id]);
  });

  it("a retry of a first try that was applied gets the same jobs back, none new", async () => {
    const capability = "seats-retry";
    const factoryId = await registerFactory(factory, { capabilities: [capability] });
    // two claimable jobs: a retry that claimed again would take the other one
    const jobs = await Promise.all([
      createJob(service, { capabilities: [capability] }),
      createJob(service, { capabilities: [capability] }),
    ]);
    const requestId = crypto.randomUUID();
    const first = await factory.trpc.factory.claim.mutate({ factoryId, max: 1, requestId, retry: false });
    // its answer lost: the daemon sends the same id again, as a retry
    const again = await factory.trpc.factory.claim.mutate({ factoryId, max: 1, requestId, retry: true });
    expect(first.jobs).toHaveLength(1);
    expect(jobs.map((job) => job._id)).toContain(first.jobs[0]?.job._id);
    expect(again.jobs.map((c) => [c.job._id, c.epoch])).toEqual(first.jobs.map((c) => [c.job._id, c.epoch]));
    expect(await h.db.collection("jobs").countDocuments({ "lease.holder": factoryId })).toBe(1);
  });

  it("one call leases several jobs, each with its own run and claimed event", async () => {
    const factoryId = await registerFactory(factory, { capabilities: ["multi-seat"], seatLimit: 8 });
    const created = await Promise.all(
      [3, 2, 1].map((priority) => createJob(service, { priority, capabilities: ["multi-seat"] })),
    );
    const claimed = await claim(factory, factoryId, 5);
    expect(claimed.map((c) => c.job._id)).toEqual(created.map((job) => job._id));
    for (const each of claimed) {
      expect(await h.db.collection("runs").find({ jobId: each.job._id }).toArray()).toEqual([
        expect.objectContaining({ _id: each.runId, epoch: each.epoch, factoryId, attempt: 1 }),
      ]);
      const events = await h.db.collection("events").find({ jobId: each.job._id }).sort({ seq: 1 }).toArray();
      expect(events.map((event) => [event.seq, event.type, event.data.runId])).toEqual([
        [1, "created", undefined],
        [2, "claimed", each.runId],
      ]);
    }
  });
});

describe("a multi-seat claim that fails after writing its runs", () => {
  it("gives every job of the call back and ends each run released", async () => {
    await using h = await Harness.start("claim-batch-fails", { env: { GF_FAILPOINTS: "claim.afterRun=throw" } });
    const service = await h.as("service");
    const factory = await h.as("factory");
    const factoryId = await registerFactory(factory, { capabilities: ["batch-fails"] });
    const created = await Promise.all([1, 2, 3].map(() => createJob(service, { capabilities: ["batch-fails"] })));

    const error = await factory.trpc.factory.claim.mutate({ factoryId, max: 3 }).catch((err: unknown) => err);
    expect(error).toMatchObject({ data: { code: "INTERNAL_SERVER_ERROR" } });
    for (const job of created) {
      expect(await h.db.collection<Job>("jobs").findOne({ _id: job._id })).toMatchObject({
        stage: "inbox",
        attempt: 0,
        lease: { holder: null },
      });
      expect(await h.db.collection("runs").find({ jobId: job._id }).toArray()).toEqual([
        expect.objectContaining({ result: "released" }),
      ]);
    }
  });
});
