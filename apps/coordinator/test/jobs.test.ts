import type { FactoryMessage } from "@gigafactory/schema";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestClient, codeOf, rejection } from "./support/client.js";
import { Collector } from "./support/collector.js";
import { Harness, claimOne, createJob, fenceOf, registerFactory } from "./support/harness.js";

const BACKOFF_BASE_MS = 100;

describe("the job lifecycle through the API", () => {
  let h: Harness;
  let service: TestClient;
  let factory: TestClient;
  beforeAll(async () => {
    h = await Harness.start("jobs", { env: { GF_BACKOFF_BASE: `${BACKOFF_BASE_MS}ms` } });
    service = await h.as("service");
    factory = await h.as("factory");
  });
  afterAll(() => h?.close());

  /** Each test claims through a factory with a capability of its own, so tests never take each other's jobs. */
  const worker = (capability: string, opts: { seatLimit?: number } = {}) =>
    registerFactory(factory, { capabilities: [capability], ...opts });

  it("20 concurrent identical creates make one job: same id for all, one created: true", async () => {
    const clients = Array.from({ length: 20 }, () => h.client(service.token));
    const input = {
      idempotencyKey: "deploy-2024-06-01",
      bodyMd: "# Deploy\n\nship it\n",
      priority: 3,
      capabilities: ["idem"],
    };
    const results = await Promise.all(clients.map((client) => client.trpc.jobs.create.mutate(input)));
    expect(new Set(results.map((result) => result.job._id)).size).toBe(1);
    expect(results.filter((result) => result.created)).toHaveLength(1);
    expect(await h.db.collection("jobs").countDocuments({ idempotencyKey: input.idempotencyKey })).toBe(1);
    const [{ job }] = results as [(typeof results)[number]];
    const { items } = await service.trpc.jobs.events.query({ jobId: job._id });
    expect(items.map((event) => event.type)).toEqual(["created"]);
    expect(job).toMatchObject({ title: "Deploy", bodyMd: input.bodyMd, priority: 3, stage: "inbox" });
  });

  it("cancel: an inbox job is cancelled at once", async () => {
    const job = await createJob(service, { capabilities: ["cancel-inbox"] });
    const cancelled = await service.trpc.jobs.cancel.mutate({ jobId: job._id, reason: "not needed" });
    expect(cancelled).toMatchObject({ stage: "cancelled", reason: "not needed" });
    const f = await worker("cancel-inbox");
    expect((await factory.trpc.factory.claim.mutate({ factoryId: f })).jobs).toEqual([]);
    // a finished job cannot be cancelled again
    expect(codeOf(await rejection(service.trpc.jobs.cancel.mutate({ jobId: job._id })))).toMatchObject({
      code: "PRECONDITION_FAILED",
    });
  });

  it("cancel: a running job's holder hears it on connect, renew says so, complete(cancelled) ends it", async () => {
    const f = await worker("cancel-running");
    using connect = new Collector<FactoryMessage>((handlers) =>
      factory.trpc.factory.connect.subscribe({ factoryId: f }, handlers),
    );
    await connect.until((messages) => messages.some((m) => m.type === "work"), "the first work nudge");
    const job = await createJob(service, { capabilities: ["cancel-running"] });
    const claimed = await claimOne(factory, f);
    expect(claimed.job._id).toBe(job._id);

    const requested = await service.trpc.jobs.cancel.mutate({ jobId: job._id, reason: "wrong branch" });
    expect(requested).toMatchObject({ stage: "building", cancelRequested: true });
    await connect.until((messages) => messages.some((m) => m.type === "cancel"), "the cancel message");
    expect(connect.items.filter((m) => m.type === "cancel")).toEqual([
      { type: "cancel", jobId: job._id, epoch: claimed.epoch },
    ]);

    expect(await factory.trpc.factory.renew.mutate(fenceOf(claimed, f))).toMatchObject({ cancelRequested: true });
    expect(await factory.trpc.factory.complete.mutate({ ...fenceOf(claimed, f), result: "cancelled" })).toEqual({
      stage: "cancelled",
    });
    const stored = await service.trpc.jobs.get.query({ jobId: job._id });
    expect(stored).toMatchObject({ stage: "cancelled", lease: { holder: null } });
    expect((await service.trpc.jobs.runs.query({ jobId: job._id })).map((run) => run.result)).toEqual(["cancelled"]);
  });

  it("a failed attempt backs off, then the job fails after maxAttempts; retry starts over", async () => {
    const f = await worker("backoff");
    const job = await createJob(service, { capabilities: ["backoff"], maxAttempts: 2, verify: ["pnpm test"] });

    const first = await claimOne(factory, f);
    expect(first.job.attempt).toBe(1);
    await factory.trpc.factory.advance.mutate({ ...fenceOf(first, f), to: "testing" });
    const verifyResult = {
      passed: false,
      steps: [{ command: "pnpm test", exitCode: 1, durationMs: 1200, tail: "1 failed" }],
    };
    expect(
      await factory.trpc.factory.complete.mutate({
        ...fenceOf(first, f),
        result: "failure",
        verifyResult,
        reason: "verify failed",
      }),
    ).toEqual({ stage: "inbox" });

    const requeued = await service.trpc.jobs.get.query({ jobId: job._id });
    expect(requeued).toMatchObject({ stage: "inbox", attempt: 1, lastResult: "failure", lease: { holder: null } });
    // backoff after attempt 1 is the base
    expect(requeued.notBefore.getTime() - requeued.queuedAt.getTime()).toBe(BACKOFF_BASE_MS);
    const requeuedEvent = (await service.trpc.jobs.events.query({ jobId: job._id })).items.find(
      (event) => event.type === "requeued",
    );
    expect(requeuedEvent?.data).toMatchObject({ result: "failure", attempt: 1, retryInMs: BACKOFF_BASE_MS });

    const second = await claimOne(factory, f);
    expect(second.job.attempt).toBe(2);
    expect(second.epoch).toBeGreaterThan(first.epoch);
    // the second claim only came once the backoff had passed
    const claimedAt = (await service.trpc.jobs.events.query({ jobId: job._id })).items.filter(
      (event) => event.type === "claimed",
    )[1]?.at;
    expect(claimedAt && claimedAt.getTime() >= requeued.notBefore.getTime()).toBe(true);
    expect(
      await factory.trpc.factory.complete.mutate({ ...fenceOf(second, f), result: "failure", verifyResult }),
    ).toEqual({ stage: "failed" });

    const failed = await service.trpc.jobs.get.query({ jobId: job._id });
    expect(failed).toMatchObject({ stage: "failed", attempt: 2 });
    const runs = await service.trpc.jobs.runs.query({ jobId: job._id });
    expect(runs.map((run) => [run.attempt, run.result, run.verifyResult?.passed])).toEqual([
      [1, "failure", false],
      [2, "failure", false],
    ]);
    expect((await factory.trpc.factory.claim.mutate({ factoryId: f })).jobs).toEqual([]);

    // retry: back to the inbox with a fresh attempt count; earlier runs stay
    expect(await service.trpc.jobs.retry.mutate({ jobId: job._id })).toMatchObject({ stage: "inbox", attempt: 0 });
    const third = await claimOne(factory, f);
    expect(third.job.attempt).toBe(1);
    await factory.trpc.factory.complete.mutate({ ...fenceOf(third, f), result: "success" });
    expect((await service.trpc.jobs.get.query({ jobId: job._id })).stage).toBe("shipped");
    expect(await service.trpc.jobs.runs.query({ jobId: job._id })).toHaveLength(3);
    // only failed or cancelled jobs can be retried
    expect(codeOf(await rejection(service.trpc.jobs.retry.mutate({ jobId: job._id })))).toMatchObject({
      code: "PRECONDITION_FAILED",
    });
  });

  it("release gives a job back without an attempt penalty and keeps its checkpoint", async () => {
    const f = await worker("release");
    const job = await createJob(service, { capabilities: ["release"], maxAttempts: 1 });
    const first = await claimOne(factory, f);
    expect(first.job.attempt).toBe(1);
    const checkpoint = { wipBranch: "gf/wip/release", wipBase: "0a1b2c3", wipCommit: "0123abc" };
    expect(
      await factory.trpc.factory.release.mutate({ ...fenceOf(first, f), checkpoint, reason: "factory draining" }),
    ).toEqual({ stage: "inbox" });

    const released = await service.trpc.jobs.get.query({ jobId: job._id });
    expect(released).toMatchObject({
      stage: "inbox",
      attempt: 0,
      lastResult: "released",
      checkpoint,
      lease: { holder: null },
    });
    // with maxAttempts 1 a counted attempt would have failed the job; it is claimable at once
    const second = await claimOne(factory, f);
    expect(second.job).toMatchObject({ _id: job._id, attempt: 1, checkpoint });
    const runs = await service.trpc.jobs.runs.query({ jobId: job._id });
    expect(runs.map((run) => run.result)).toEqual(["released", undefined]);
    await factory.trpc.factory.complete.mutate({ ...fenceOf(second, f), result: "success" });
  });

  it("human review parks the job until approved; approval ships it", async () => {
    const f = await worker("review-approve");
    const job = await createJob(service, { capabilities: ["review-approve"], review: { mode: "human" } });
    const claimed = await claimOne(factory, f);
    expect(await factory.trpc.factory.complete.mutate({ ...fenceOf(claimed, f), result: "success" })).toEqual({
      stage: "review",
    });
    const parked = await service.trpc.jobs.get.query({ jobId: job._id });
    expect(parked).toMatchObject({ stage: "review", awaitingApproval: true, lease: { holder: null } });
    expect((await factory.trpc.factory.claim.mutate({ factoryId: f })).jobs).toEqual([]);

    expect(await service.trpc.jobs.approve.mutate({ jobId: job._id, note: "looks good" })).toMatchObject({
      stage: "shipped",
      awaitingApproval: false,
    });
    // a decision is taken once
    expect(codeOf(await rejection(service.trpc.jobs.approve.mutate({ jobId: job._id })))).toMatchObject({
      code: "PRECONDITION_FAILED",
    });
    expect(codeOf(await rejection(service.trpc.jobs.reject.mutate({ jobId: job._id })))).toMatchObject({
      code: "PRECONDITION_FAILED",
    });
    const types = (await service.trpc.jobs.events.query({ jobId: job._id })).items.map((event) => event.type);
    expect(types).toEqual(["created", "claimed", "approval_requested", "approved"]);
  });

  it("human review rejection sends the job back for another attempt, and fails it when none are left", async () => {
    const f = await worker("review-reject");
    const job = await createJob(service, {
      capabilities: ["review-reject"],
      review: { mode: "human" },
      maxAttempts: 2,
    });
    const first = await claimOne(factory, f);
    await factory.trpc.factory.complete.mutate({ ...fenceOf(first, f), result: "success" });
    expect(await service.trpc.jobs.reject.mutate({ jobId: job._id, note: "tests missing" })).toMatchObject({
      stage: "inbox",
      reason: "tests missing",
    });

    const second = await claimOne(factory, f);
    expect(second.job.attempt).toBe(2);
    await factory.trpc.factory.complete.mutate({ ...fenceOf(second, f), result: "success" });
    expect(await service.trpc.jobs.reject.mutate({ jobId: job._id })).toMatchObject({ stage: "failed" });
  });

  it("a composite parent is never claimed and ships when its children have shipped", async () => {
    const f = await worker("composite", { seatLimit: 8 });
    const parent = await createJob(service, { kind: "composite", capabilities: ["composite"], priority: 100 });
    const children = await Promise.all(
      [1, 2, 3].map((n) =>
        createJob(service, { parentId: parent._id, capabilities: ["composite"], title: `child ${n}` }),
      ),
    );
    await service.trpc.jobs.seal.mutate({ jobId: parent._id });

    const claimed = (await factory.trpc.factory.claim.mutate({ factoryId: f, max: 8 })).jobs;
    expect(new Set(claimed.map((c) => c.job._id))).toEqual(new Set(children.map((child) => child._id)));
    for (const [i, each] of claimed.entries()) {
      await factory.trpc.factory.complete.mutate({ ...fenceOf(each, f), result: "success" });
      const stage = (await service.trpc.jobs.get.query({ jobId: parent._id })).stage;
      expect(stage).toBe(i < claimed.length - 1 ? "inbox" : "shipped");
    }
    expect((await service.trpc.jobs.list.query({ parentId: parent._id })).items).toHaveLength(3);
  });

  it("a composite parent fails, naming the children that did not ship", async () => {
    const f = await worker("composite-fail", { seatLimit: 8 });
    const parent = await createJob(service, { kind: "composite", capabilities: ["composite-fail"] });
    const good = await createJob(service, { parentId: parent._id, capabilities: ["composite-fail"], priority: 2 });
    const bad = await createJob(service, {
      parentId: parent._id,
      capabilities: ["composite-fail"],
      maxAttempts: 1,
      priority: 1,
    });
    await service.trpc.jobs.seal.mutate({ jobId: parent._id });
    const [first, second] = (await factory.trpc.factory.claim.mutate({ factoryId: f, max: 2 })).jobs;
    if (!first || !second) throw new Error("expected two claims");
    expect([first.job._id, second.job._id]).toEqual([good._id, bad._id]);
    await factory.trpc.factory.complete.mutate({ ...fenceOf(second, f), result: "failure" });
    expect((await service.trpc.jobs.get.query({ jobId: parent._id })).stage).toBe("inbox");
    await factory.trpc.factory.complete.mutate({ ...fenceOf(first, f), result: "success" });
    const failed = await service.trpc.jobs.get.query({ jobId: parent._id });
    expect(failed.stage).toBe("failed");
    expect(failed.reason).toContain(bad._id);
    expect(failed.reason).not.toContain(good._id);
  });

  it("a job with notBefore in the future is not handed out yet; cancel still works", async () => {
    const f = await worker("not-before");
    const later = new Date(Date.now() + 3_600_000);
    const job = await createJob(service, { capabilities: ["not-before"], notBefore: later });
    expect(job.notBefore.getTime()).toBe(later.getTime());
    expect((await factory.trpc.factory.claim.mutate({ factoryId: f })).jobs).toEqual([]);
    expect((await service.trpc.jobs.cancel.mutate({ jobId: job._id })).stage).toBe("cancelled");
  });

  it("list pages with a cursor, newest first, each job once", async () => {
    const trackerItemId = "TRACK-42";
    const made = [];
    for (let i = 0; i < 5; i++) made.push(await createJob(service, { trackerItemId, capabilities: ["list"] }));
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const result = await service.trpc.jobs.list.query({ trackerItemId, limit: 2, ...(cursor ? { cursor } : {}) });
      seen.push(...result.items.map((job) => job._id));
      if (!result.nextCursor) break;
      cursor = result.nextCursor;
    }
    expect(seen).toEqual(made.map((job) => job._id).reverse());
    const inbox = await service.trpc.jobs.list.query({ trackerItemId, stage: ["inbox"], limit: 200 });
    expect(inbox.items).toHaveLength(5);
  });
});
