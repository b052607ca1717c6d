import type { ClaimedJob } from "@gigafactory/schema";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestClient, codeOf, rejection } from "./support/client.js";
import { Harness, claimOne, createJob, fenceOf, registerFactory } from "./support/harness.js";

/**
 * Composite parents (rules in `modules/jobs/settle-rules.ts`): open until sealed, settled only
 * once sealed and every child finished, no child under a sealed or finished parent, and retries
 * that re-open the parent instead of leaving it stuck.
 */
describe("composite parents", () => {
  let h: Harness;
  let service: TestClient;
  let factory: TestClient;
  beforeAll(async () => {
    h = await Harness.start("composites");
    service = await h.as("service");
    factory = await h.as("factory");
  });
  afterAll(() => h?.close());

  /** Each test has a capability of its own, so tests never take each other's jobs. */
  const worker = (capability: string) => registerFactory(factory, { capabilities: [capability] });
  const stageOf = async (jobId: string) => (await service.trpc.jobs.get.query({ jobId })).stage;
  const finish = (claimed: ClaimedJob, factoryId: string, result: "success" | "failure") =>
    factory.trpc.factory.complete.mutate({ ...fenceOf(claimed, factoryId), result });
  async function claimIt(factoryId: string, jobId: string): Promise<ClaimedJob> {
    const claimed = await claimOne(factory, factoryId);
    expect(claimed.job._id).toBe(jobId);
    return claimed;
  }

  it("does not ship before it is sealed, though its only child has shipped; children may still come", async () => {
    const cap = "comp-open";
    const f = await worker(cap);
    const parent = await createJob(service, { kind: "composite", capabilities: [cap] });
    const first = await createJob(service, { parentId: parent._id, capabilities: [cap] });
    await finish(await claimIt(f, first._id), f, "success");
    expect(await stageOf(parent._id)).toBe("inbox");

    const second = await createJob(service, { parentId: parent._id, capabilities: [cap] });
    expect(await service.trpc.jobs.seal.mutate({ jobId: parent._id })).toMatchObject({
      stage: "inbox",
      sealed: true,
      childCount: 2,
    });
    await finish(await claimIt(f, second._id), f, "success");
    expect(await stageOf(parent._id)).toBe("shipped");
  });

  it("refuses a child under a shipped parent and under a sealed one", async () => {
    const shipped = await createJob(service, { kind: "composite" });
    await service.trpc.jobs.seal.mutate({ jobId: shipped._id });
    const sealed = await createJob(service, { kind: "composite" });
    await createJob(service, { parentId: sealed._id, capabilities: ["comp-unclaimed"] });
    await service.trpc.jobs.seal.mutate({ jobId: sealed._id });
    const before = await h.counts();

    const late = await rejection(createJob(service, { parentId: shipped._id }));
    expect(codeOf(late).code).toBe("PRECONDITION_FAILED");
    expect(late.message).toBe(`parent ${shipped._id} is shipped; a child cannot be added to a finished parent`);
    const closed = await rejection(createJob(service, { parentId: sealed._id }));
    expect(codeOf(closed).code).toBe("PRECONDITION_FAILED");
    expect(closed.message).toContain("is sealed");
    expect(await h.counts()).toEqual(before);
  });

  it("a sealed parent with no children ships; sealing twice is harmless; a leaf cannot be sealed", async () => {
    const parent = await createJob(service, { kind: "composite" });
    expect(await service.trpc.jobs.seal.mutate({ jobId: parent._id })).toMatchObject({ stage: "shipped" });
    expect(await service.trpc.jobs.seal.mutate({ jobId: parent._id })).toMatchObject({ stage: "shipped" });
    const leaf = await createJob(service, { capabilities: ["comp-unclaimed"] });
    expect(codeOf(await rejection(service.trpc.jobs.seal.mutate({ jobId: leaf._id }))).code).toBe(
      "PRECONDITION_FAILED",
    );
  });

  it("retry of a failed parent retries its failed children and ships once they do", async () => {
    const cap = "comp-retry-parent";
    const f = await worker(cap);
    const parent = await createJob(service, { kind: "composite", capabilities: [cap] });
    const good = await createJob(service, { parentId: parent._id, capabilities: [cap], priority: 2 });
    const bad = await createJob(service, { parentId: parent._id, capabilities: [cap], maxAttempts: 1 });
    await service.trpc.jobs.seal.mutate({ jobId: parent._id });
    await finish(await claimIt(f, good._id), f, "success");
    await finish(await claimIt(f, bad._id), f, "failure");
    expect(await stageOf(parent._id)).toBe("failed");

    expect(await service.trpc.jobs.retry.mutate({ jobId: parent._id })).toMatchObject({ stage: "inbox" });
    expect(await stageOf(bad._id)).toBe("inbox");
    expect(await stageOf(good._id)).toBe("shipped");
    await finish(await claimIt(f, bad._id), f, "success");
    expect(await stageOf(parent._id)).toBe("shipped");
  });

  it("retry of a child under a failed parent re-opens the parent, which ships with it", async () => {
    const cap = "comp-retry-child";
    const f = await worker(cap);
    const parent = await createJob(service, { kind: "composite", capabilities: [cap] });
    const child = await createJob(service, { parentId: parent._id, capabilities: [cap], maxAttempts: 1 });
    await service.trpc.jobs.seal.mutate({ jobId: parent._id });
    await finish(await claimIt(f, child._id), f, "failure");
    expect(await stageOf(parent._id)).toBe("failed");

    expect(await service.trpc.jobs.retry.mutate({ jobId: child._id })).toMatchObject({ stage: "inbox" });
    expect(await service.trpc.jobs.get.query({ jobId: parent._id })).toMatchObject({ stage: "inbox", sealed: true });
    await finish(await claimIt(f, child._id), f, "success");
    expect(await stageOf(parent._id)).toBe("shipped");
    expect((await h.db.collection("jobs").findOne({ _id: parent._id as never }))?.settle).toBeUndefined();
  });

  it("retry of a parent with nothing left to retry (cancelled, children shipped) ships it", async () => {
    const cap = "comp-retry-cancelled";
    const f = await worker(cap);
    const parent = await createJob(service, { kind: "composite", capabilities: [cap] });
    const child = await createJob(service, { parentId: parent._id, capabilities: [cap] });
    await service.trpc.jobs.cancel.mutate({ jobId: parent._id });
    await finish(await claimIt(f, child._id), f, "success");
    expect(await stageOf(parent._id)).toBe("cancelled");
    // re-opened, not sealed: it waits for its seal, then ships
    expect(await service.trpc.jobs.retry.mutate({ jobId: parent._id })).toMatchObject({ stage: "inbox" });
    expect(await service.trpc.jobs.seal.mutate({ jobId: parent._id })).toMatchObject({ stage: "shipped" });
  });
});
