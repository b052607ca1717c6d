import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestClient } from "./support/client.js";
import { Harness, claimOne, createJob, fenceOf, poll, registerFactory } from "./support/harness.js";

/**
 * Writes that race with each other or with a crash: each test sets up the state a race or a
 * crash between two writes leaves behind, and checks that the job still reaches an end.
 */
describe("races and crash leftovers", () => {
  let h: Harness;
  let service: TestClient;
  let factory: TestClient;
  beforeAll(async () => {
    h = await Harness.start("races", { env: { GF_LEASE_TTL: "1s", GF_BACKOFF_BASE: "50ms" } });
    service = await h.as("service");
    factory = await h.as("factory");
  });
  afterAll(() => h?.close());

  const worker = (capability: string) => registerFactory(factory, { capabilities: [capability] });

  it("a drained job whose cancel was requested ends cancelled, not back in the inbox", async () => {
    const f = await worker("race-release");
    const job = await createJob(service, { capabilities: ["race-release"] });
    const claimed = await claimOne(factory, f);
    await service.trpc.jobs.cancel.mutate({ jobId: job._id });
    const answer = await factory.trpc.factory.release.mutate({ ...fenceOf(claimed, f), reason: "factory draining" });
    expect(answer.stage).toBe("cancelled");
    const events = (await service.trpc.jobs.events.query({ jobId: job._id })).items.map((event) => event.type);
    expect(events.at(-1)).toBe("cancelled");
  });

  it("a cancel requested before a successful completion wins over human review", async () => {
    const f = await worker("race-review");
    const job = await createJob(service, { capabilities: ["race-review"], review: { mode: "human" } });
    const claimed = await claimOne(factory, f);
    await service.trpc.jobs.cancel.mutate({ jobId: job._id });
    const answer = await factory.trpc.factory.complete.mutate({ ...fenceOf(claimed, f), result: "success" });
    expect(answer.stage).toBe("cancelled");
    const runs = await service.trpc.jobs.runs.query({ jobId: job._id });
    expect(runs.map((run) => run.result)).toEqual(["success"]);
  });

  it("the reaper cancels a job left idle with its cancel requested (a race between cancel and give-back)", async () => {
    const job = await createJob(service, { capabilities: ["race-idle"] });
    // the state a give-back racing a cancel could leave: in the inbox, unclaimable, flag set
    await h.db.collection("jobs").updateOne({ _id: job._id as never }, { $set: { cancelRequested: true } });
    const cancelled = await poll(
      async () => {
        const current = await service.trpc.jobs.get.query({ jobId: job._id });
        return current.stage === "cancelled" ? current : undefined;
      },
      { what: "the idle cancel-requested job to be cancelled", tries: 100, everyMs: 100 },
    );
    expect(cancelled.cancelRequested).toBe(true);
  });

  it("the reaper frees a lock its job no longer holds (a crash between completion and freeing it)", async () => {
    const f = await worker("race-lock");
    const first = await createJob(service, { capabilities: ["race-lock"], lock: "race-lock-1" });
    const claimed = await claimOne(factory, f);
    expect(claimed.job._id).toBe(first._id);
    // what a coordinator that died right after the completion update leaves: shipped job, lock still there
    await h.db
      .collection("jobs")
      .updateOne({ _id: first._id as never }, { $set: { stage: "shipped", "lease.holder": null } });
    expect(await h.db.collection("locks").countDocuments({ jobId: first._id })).toBe(1);
    const second = await createJob(service, { capabilities: ["race-lock"], lock: "race-lock-1" });
    const next = await poll(
      async () => {
        const { jobs } = await factory.trpc.factory.claim.mutate({ factoryId: f });
        return jobs[0];
      },
      { what: "the second job with the same lock to be claimable", tries: 100, everyMs: 100 },
    );
    expect(next.job._id).toBe(second._id);
  });

  it("a retried advance whose first try was applied is not an error", async () => {
    const f = await worker("race-advance");
    await createJob(service, { capabilities: ["race-advance"], verify: ["true"] });
    const claimed = await claimOne(factory, f);
    const fence = fenceOf(claimed, f);
    expect(await factory.trpc.factory.advance.mutate({ ...fence, to: "testing" })).toEqual({ stage: "testing" });
    expect(await factory.trpc.factory.advance.mutate({ ...fence, to: "testing" })).toEqual({ stage: "testing" });
  });

  it("a retried job whose dependency shipped while it was cancelled is runnable at once", async () => {
    const f = await worker("race-deps");
    const dep = await createJob(service, { capabilities: ["race-deps"], idempotencyKey: "race-dep" });
    const dependent = await createJob(service, { capabilities: ["race-deps-after"], deps: ["race-dep"] });
    await service.trpc.jobs.cancel.mutate({ jobId: dependent._id });
    const claimed = await claimOne(factory, f);
    expect(claimed.job._id).toBe(dep._id);
    await factory.trpc.factory.complete.mutate({ ...fenceOf(claimed, f), result: "success" });
    // the dependent was not in the inbox when its dependency shipped; a retry must see that
    const retried = await service.trpc.jobs.retry.mutate({ jobId: dependent._id });
    expect(retried.pendingDeps).toEqual([]);
  });
});
