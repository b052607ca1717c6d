import { randomUUID } from "node:crypto";
import type { ClaimedJob, Job } from "@gigafactory/schema";
import { afterEach, describe, expect, it } from "vitest";
import { type TestClient, codeOf, rejection } from "./support/client.js";
import { Harness, claimOne, createJob, fenceOf, poll, registerFactory } from "./support/harness.js";

/**
 * A request that dies (or fails) between a stage change and its follow-ups: the dependents, the
 * composite parent and the lock still converge, by the settle marker the stage change left and a
 * reaper (on a clean coordinator on the same database, or the same one) that finishes them.
 * Each test arms one failpoint (`GF_FAILPOINTS`) in the first coordinator.
 */
describe("follow-ups survive a failed or crashed request", () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  /** A coordinator armed with `failpoints`, and service and factory clients of it. */
  async function armed(label: string, failpoints: string, env: Record<string, string> = {}) {
    h = await Harness.start(`durable-${label}`, { env: { GF_FAILPOINTS: failpoints, ...env } });
    const service = await h.as("service");
    const factory = await h.as("factory");
    const factoryId = await registerFactory(factory);
    return { h, service, factory, factoryId };
  }

  /** Waits for the armed coordinator to die at its failpoint, then starts a clean one on the same database. */
  async function crashedThenClean(harness: Harness, call: Promise<unknown>) {
    expect(await call.then(() => "answered").catch(() => "failed")).toBe("failed");
    const exitCode = await poll(async () => harness.coordinator.process.exitCode ?? false, {
      what: "the armed coordinator to exit",
    });
    expect(exitCode).toBe(137);
    // a short lease only makes the clean coordinator's reaper sweep often
    return harness.second({ GF_LEASE_TTL: "2s" });
  }

  const job = (harness: Harness, id: string) => harness.db.collection<Job>("jobs").findOne({ _id: id });

  /** Polls the job until `ok` holds and its follow-ups are no longer owed; returns it. */
  function converges(harness: Harness, id: string, ok: (job: Job) => boolean, what: string): Promise<Job> {
    return poll(
      async () => {
        const doc = await job(harness, id);
        return doc && ok(doc) && doc.settle === undefined ? doc : undefined;
      },
      { tries: 400, everyMs: 100, what },
    );
  }

  async function claimed(factory: TestClient, factoryId: string, jobId: string): Promise<ClaimedJob> {
    const got = await claimOne(factory, factoryId);
    expect(got.job._id).toBe(jobId);
    return got;
  }

  it("claim dies after the lease is taken: the retried claim on another coordinator gets the job with its run, event and lock", async () => {
    const { h, service, factory, factoryId } = await armed("claim", "claim.afterClaim=exit");
    const locked = await createJob(service, { lock: "deploy" });
    const requestId = randomUUID();
    const clean = await crashedThenClean(h, factory.trpc.factory.claim.mutate({ factoryId, max: 1, requestId }));
    // the factory never heard the answer: it retries the same claim, here through another coordinator
    const again = h.client(factory.token, clean.url);
    const {
      jobs: [held],
    } = await again.trpc.factory.claim.mutate({ factoryId, max: 1, requestId });
    expect(held?.job._id).toBe(locked._id);
    const runs = await h.db.collection("runs").find({ jobId: locked._id }).toArray();
    expect(runs).toEqual([expect.objectContaining({ _id: held?.runId, epoch: held?.epoch, factoryId })]);
    const events = await h.db.collection("events").find({ jobId: locked._id }).sort({ seq: 1 }).toArray();
    expect(events.map((event) => [event.seq, event.type])).toEqual([
      [1, "created"],
      [2, "claimed"],
    ]);
    expect(await h.db.collection("locks").findOne({ name: "deploy" })).toMatchObject({
      jobId: locked._id,
      epoch: held?.epoch,
    });
    // and it ships with its run ended as a success
    await again.trpc.factory.complete.mutate({ ...fenceOf(held as ClaimedJob, factoryId), result: "success" });
    expect(await h.db.collection<{ _id: string }>("runs").findOne({ _id: held?.runId ?? "" })).toMatchObject({
      result: "success",
    });
  });

  it("appendEvents dies after reserving seqs: once the lease is reaped the job's events have no hole", async () => {
    const { h, service, factory, factoryId } = await armed("append", "append.afterReserve=exit", {
      GF_LEASE_TTL: "5s",
    });
    const created = await createJob(service, { maxAttempts: 2 });
    const held = await claimed(factory, factoryId, created._id);
    await crashedThenClean(
      h,
      factory.trpc.factory.appendEvents.mutate({
        ...fenceOf(held, factoryId),
        events: [
          { type: "log", data: { line: "one" } },
          { type: "log", data: { line: "two" } },
        ],
        requestId: randomUUID(),
      }),
    );
    // nobody renews: the clean coordinator's reaper takes the lease back
    const lost = await converges(h, created._id, (doc) => doc.lastResult === "lost", "the lease to be reaped");
    const events = await h.db.collection("events").find({ jobId: created._id }).sort({ seq: 1 }).toArray();
    expect(events.map((event) => event.seq)).toEqual(Array.from({ length: lost.eventSeq }, (_, i) => i + 1));
    expect(events.map((event) => event.type)).toEqual(["created", "claimed", "recovered", "recovered", "lost"]);
  });

  it("complete dies after the move: the dependent becomes runnable and the lock is free", async () => {
    const { h, service, factory, factoryId } = await armed("complete", "complete.afterMove=exit");
    const dep = await createJob(service, { lock: "deploy" });
    const dependent = await createJob(service, { deps: [dep._id] });
    const held = await claimed(factory, factoryId, dep._id);
    expect(await h.db.collection("locks").countDocuments({ name: "deploy" })).toBe(1);

    const clean = await crashedThenClean(
      h,
      factory.trpc.factory.complete.mutate({ ...fenceOf(held, factoryId), result: "success" }),
    );
    expect(await job(h, dep._id)).toMatchObject({ stage: "shipped", settle: { owedSince: expect.any(Date) } });
    await converges(h, dependent._id, (doc) => doc.pendingDeps.length === 0, "the dependent to be unblocked");
    await converges(h, dep._id, (doc) => doc.stage === "shipped", "the shipped job's marker to clear");
    expect(await h.db.collection("locks").countDocuments({ name: "deploy" })).toBe(0);
    // runnable for real: a factory of the clean coordinator gets it
    const again = h.client(factory.token, clean.url);
    const next = await registerFactory(again);
    await claimed(again, next, dependent._id);
  });

  it("complete throws after the move (a 500), the retry is FENCED: the same coordinator still unblocks the dependent", async () => {
    const { h, service, factory, factoryId } = await armed("complete-throw", "complete.afterMove=throw");
    const dep = await createJob(service);
    const dependent = await createJob(service, { deps: [dep._id] });
    const held = await claimed(factory, factoryId, dep._id);
    const done = { ...fenceOf(held, factoryId), result: "success" } as const;

    expect(codeOf(await rejection(factory.trpc.factory.complete.mutate(done))).code).toBe("INTERNAL_SERVER_ERROR");
    expect(codeOf(await rejection(factory.trpc.factory.complete.mutate(done)))).toEqual({
      code: "CONFLICT",
      reason: "FENCED",
    });
    await converges(h, dependent._id, (doc) => doc.pendingDeps.length === 0, "the dependent to be unblocked");
    await claimed(factory, factoryId, dependent._id);
  });

  it("complete dies after the last child ships: the composite parent ships", async () => {
    const { h, service, factory, factoryId } = await armed("parent", "complete.afterMove=exit");
    const parent = await createJob(service, { kind: "composite" });
    const child = await createJob(service, { parentId: parent._id });
    await service.trpc.jobs.seal.mutate({ jobId: parent._id });
    const held = await claimed(factory, factoryId, child._id);

    await crashedThenClean(h, factory.trpc.factory.complete.mutate({ ...fenceOf(held, factoryId), result: "success" }));
    await converges(h, parent._id, (doc) => doc.stage === "shipped", "the parent to ship");
  });

  it("a failure dooms a dependent, then dies before the dependent's own dependents: they fail too", async () => {
    const { h, service, factory, factoryId } = await armed("doom-chain", "doom.afterMove=exit");
    const dep = await createJob(service, { maxAttempts: 1 });
    const middle = await createJob(service, { deps: [dep._id] });
    const last = await createJob(service, { deps: [middle._id] });
    const held = await claimed(factory, factoryId, dep._id);

    await crashedThenClean(h, factory.trpc.factory.complete.mutate({ ...fenceOf(held, factoryId), result: "failure" }));
    expect(await job(h, middle._id)).toMatchObject({ stage: "failed" });
    const doomed = await converges(h, last._id, (doc) => doc.stage === "failed", "the last dependent to fail");
    expect(doomed.reason).toContain(middle._id);
  });

  it("follow-ups die after the lock is released: the dependent still becomes runnable", async () => {
    const { h, service, factory, factoryId } = await armed("mid-settle", "settle.afterLockRelease=exit");
    const dep = await createJob(service, { lock: "mid" });
    const dependent = await createJob(service, { deps: [dep._id] });
    const held = await claimed(factory, factoryId, dep._id);

    await crashedThenClean(h, factory.trpc.factory.complete.mutate({ ...fenceOf(held, factoryId), result: "success" }));
    await converges(h, dependent._id, (doc) => doc.pendingDeps.length === 0, "the dependent to be unblocked");
  });

  it("release of a cancel-requested job dies after the move: its dependent is cancelled", async () => {
    const { h, service, factory, factoryId } = await armed("release", "release.afterMove=exit");
    const dep = await createJob(service);
    const dependent = await createJob(service, { deps: [dep._id] });
    const held = await claimed(factory, factoryId, dep._id);
    expect(await service.trpc.jobs.cancel.mutate({ jobId: dep._id })).toMatchObject({ cancelRequested: true });

    await crashedThenClean(h, factory.trpc.factory.release.mutate({ ...fenceOf(held, factoryId), reason: "drain" }));
    expect(await job(h, dep._id)).toMatchObject({ stage: "cancelled" });
    await converges(h, dependent._id, (doc) => doc.stage === "cancelled", "the dependent to be cancelled");
  });

  it("the reaper dies after taking back an expired lease: the dependent fails and the lock is free", async () => {
    // the lease is short so that the armed coordinator's own reaper takes the job back
    const { h, service, factory, factoryId } = await armed("reap", "reap.afterMove=exit", { GF_LEASE_TTL: "1s" });
    const dep = await createJob(service, { maxAttempts: 1, lock: "reaped" });
    const dependent = await createJob(service, { deps: [dep._id] });
    await claimed(factory, factoryId, dep._id);

    // nobody renews: the reaper moves the job and dies
    await poll(async () => h.coordinator.process.exitCode ?? false, { tries: 400, what: "the reaper to die" });
    await h.second({ GF_LEASE_TTL: "2s" });
    expect(await job(h, dep._id)).toMatchObject({ stage: "failed", lastResult: "lost" });
    await converges(h, dependent._id, (doc) => doc.stage === "failed", "the dependent to fail");
    expect(await h.db.collection("locks").countDocuments({ name: "reaped" })).toBe(0);
  });

  it("cancel of an idle job dies after the move: its dependent is cancelled", async () => {
    const { h, service } = await armed("cancel", "cancel.afterMove=exit");
    const dep = await createJob(service);
    const dependent = await createJob(service, { deps: [dep._id] });

    await crashedThenClean(h, service.trpc.jobs.cancel.mutate({ jobId: dep._id }));
    expect(await job(h, dep._id)).toMatchObject({ stage: "cancelled" });
    await converges(h, dependent._id, (doc) => doc.stage === "cancelled", "the dependent to be cancelled");
  });

  /** A job parked for human approval, with a dependent. */
  async function parked(h: Harness, service: TestClient, factory: TestClient, factoryId: string) {
    const dep = await createJob(service, { maxAttempts: 1, review: { mode: "human" } });
    const dependent = await createJob(service, { deps: [dep._id] });
    const held = await claimed(factory, factoryId, dep._id);
    await factory.trpc.factory.complete.mutate({ ...fenceOf(held, factoryId), result: "success" });
    expect(await job(h, dep._id)).toMatchObject({ stage: "review", awaitingApproval: true });
    return { dep, dependent };
  }

  it("approve dies after the move: the dependent becomes runnable", async () => {
    const { h, service, factory, factoryId } = await armed("approve", "approve.afterMove=exit");
    const { dep, dependent } = await parked(h, service, factory, factoryId);

    await crashedThenClean(h, service.trpc.jobs.approve.mutate({ jobId: dep._id }));
    expect(await job(h, dep._id)).toMatchObject({ stage: "shipped" });
    await converges(h, dependent._id, (doc) => doc.pendingDeps.length === 0, "the dependent to be unblocked");
  });

  it("reject of the last attempt dies after the move: the dependent fails", async () => {
    const { h, service, factory, factoryId } = await armed("reject", "reject.afterMove=exit");
    const { dep, dependent } = await parked(h, service, factory, factoryId);

    await crashedThenClean(h, service.trpc.jobs.reject.mutate({ jobId: dep._id, note: "no" }));
    expect(await job(h, dep._id)).toMatchObject({ stage: "failed" });
    await converges(h, dependent._id, (doc) => doc.stage === "failed", "the dependent to fail");
  });
});
