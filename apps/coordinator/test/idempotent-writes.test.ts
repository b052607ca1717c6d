import { randomUUID } from "node:crypto";
import type { Run } from "@gigafactory/schema";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestClient } from "./support/client.js";
import { Harness, claimOne, createJob, fenceOf, registerFactory } from "./support/harness.js";

/**
 * A factory write whose answer is lost is retried with the same request id: the retry gets the
 * first try's answer and nothing is applied twice. Each test sends the same request twice, as a
 * factory does after a lost answer.
 */
describe("idempotent factory writes", () => {
  let h: Harness;
  let service: TestClient;
  let factory: TestClient;
  let factoryToken: string;
  beforeAll(async () => {
    h = await Harness.start("idempotent-writes");
    service = await h.as("service");
    factoryToken = await h.token("factory");
    factory = h.client(factoryToken);
  });
  afterAll(() => h?.close());

  const events = (jobId: string) => h.db.collection("events").find({ jobId }).sort({ seq: 1 }).toArray();

  it("a retried event batch is appended once and answered with the same seqs", async () => {
    const factoryId = await registerFactory(factory);
    const job = await createJob(service);
    const held = await claimOne(factory, factoryId);
    expect(held.job._id).toBe(job._id);
    const batch = {
      ...fenceOf(held, factoryId),
      requestId: randomUUID(),
      events: [
        { type: "log" as const, data: { line: "one" } },
        { type: "log" as const, data: { line: "two" } },
      ],
    };
    const first = await factory.trpc.factory.appendEvents.mutate(batch);
    const retry = await factory.trpc.factory.appendEvents.mutate(batch);
    expect(retry).toEqual(first);
    const logs = (await events(job._id)).filter((event) => event.type === "log");
    expect(logs.map((event) => event.data.line)).toEqual(["one", "two"]);
    // a new request id is a new batch
    await factory.trpc.factory.appendEvents.mutate({ ...batch, requestId: randomUUID() });
    const all = await events(job._id);
    expect(all.filter((event) => event.type === "log")).toHaveLength(4);
    expect(all.map((event) => event.seq)).toEqual(all.map((_, index) => index + 1));
  });

  it("a retried checkpoint records one event", async () => {
    const factoryId = await registerFactory(factory);
    const job = await createJob(service);
    const held = await claimOne(factory, factoryId);
    expect(held.job._id).toBe(job._id);
    const checkpoint = { wipBranch: "gf/wip/x", wipBase: "0a1b2c3", wipCommit: "0123456789abcdef" };
    const input = { ...fenceOf(held, factoryId), checkpoint, requestId: randomUUID() };
    await factory.trpc.factory.checkpoint.mutate(input);
    await factory.trpc.factory.checkpoint.mutate(input);
    const checkpoints = (await events(job._id)).filter((event) => event.type === "checkpoint");
    expect(checkpoints).toHaveLength(1);
    expect(checkpoints[0]?.data).toMatchObject(checkpoint);
    expect(await service.trpc.jobs.get.query({ jobId: job._id })).toMatchObject({ checkpoint });
  });

  it("a retried artifact upload stores one artifact and answers with it", async () => {
    const factoryId = await registerFactory(factory);
    const job = await createJob(service);
    const held = await claimOne(factory, factoryId);
    expect(held.job._id).toBe(job._id);
    const query = new URLSearchParams({
      jobId: job._id,
      epoch: String(held.epoch),
      factoryId,
      runId: held.runId,
      name: "engine.log",
      requestId: randomUUID(),
    });
    const put = async () => {
      const response = await fetch(`${h.url}/artifacts?${query}`, {
        method: "PUT",
        headers: { authorization: `Bearer ${factoryToken}`, "content-type": "text/plain" },
        body: "the log\n",
      });
      expect(response.status).toBe(201);
      return (await response.json()) as { _id: string };
    };
    const first = await put();
    const retry = await put();
    expect(retry._id).toBe(first._id);
    expect(await h.db.collection("artifacts").countDocuments({ jobId: job._id })).toBe(1);
    expect((await events(job._id)).filter((event) => event.type === "artifact")).toHaveLength(1);
  });

  it("a retried claim gets the jobs the first try leased, and burns no attempt", async () => {
    const factoryId = await registerFactory(factory, { capabilities: ["claim-retry"] });
    const a = await createJob(service, { capabilities: ["claim-retry"], priority: 10 });
    const b = await createJob(service, { capabilities: ["claim-retry"] });
    const requestId = randomUUID();
    const first = await factory.trpc.factory.claim.mutate({ factoryId, max: 1, requestId });
    expect(first.jobs.map((claimed) => claimed.job._id)).toEqual([a._id]);
    // the answer was lost: the factory asks again with the same id
    const retry = await factory.trpc.factory.claim.mutate({ factoryId, max: 1, requestId });
    expect(retry.jobs.map((claimed) => [claimed.job._id, claimed.epoch, claimed.runId])).toEqual([
      [a._id, first.jobs[0]?.epoch, first.jobs[0]?.runId],
    ]);
    expect(await service.trpc.jobs.get.query({ jobId: a._id })).toMatchObject({ attempt: 1, stage: "building" });
    expect(await service.trpc.jobs.get.query({ jobId: b._id })).toMatchObject({ attempt: 0, stage: "inbox" });
    expect(await h.db.collection<Run>("runs").countDocuments({ jobId: a._id })).toBe(1);
    // a new request claims the next job
    const next = await factory.trpc.factory.claim.mutate({ factoryId, max: 1, requestId: randomUUID() });
    expect(next.jobs.map((claimed) => claimed.job._id)).toEqual([b._id]);
  });

  it("refuses a request id that is not a UUID", async () => {
    const factoryId = await registerFactory(factory);
    await expect(factory.trpc.factory.claim.mutate({ factoryId, requestId: "again" })).rejects.toThrow();
  });
});
