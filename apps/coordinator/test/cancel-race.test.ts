import type { ClaimedJob } from "@gigafactory/schema";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestClient, codeOf, rejection } from "./support/client.js";
import { Harness, createJob, fenceOf, poll, registerFactory } from "./support/harness.js";

/**
 * `jobs.cancel` racing a factory's release or completion: it decides from what its writes
 * matched, never from a read the race made stale. A refusal names the stage the job really
 * ended in; a job given back to the inbox meanwhile is cancelled.
 */
describe("cancel racing the factory", () => {
  let h: Harness;
  let service: TestClient;
  let factory: TestClient;
  beforeAll(async () => {
    h = await Harness.start("cancel-race");
    service = await h.as("service");
    factory = await h.as("factory");
  });
  afterAll(() => h?.close());

  const ROUNDS = 40;

  async function claimAll(factoryId: string, count: number): Promise<ClaimedJob[]> {
    const claimed: ClaimedJob[] = [];
    for (let i = 0; i < 100 && claimed.length < count; i++)
      claimed.push(
        ...(await factory.trpc.factory.claim.mutate({ factoryId, max: Math.min(32, count - claimed.length) })).jobs,
      );
    expect(claimed).toHaveLength(count);
    return claimed;
  }

  it("cancel with a concurrent release is never refused, and the job ends cancelled", {
    timeout: 120_000,
  }, async () => {
    const factoryId = await registerFactory(factory, { capabilities: ["cancel-release"], seatLimit: 64 });
    for (let i = 0; i < ROUNDS; i++) await createJob(service, { capabilities: ["cancel-release"] });
    const claimed = await claimAll(factoryId, ROUNDS);
    const refused: string[] = [];
    await Promise.all(
      claimed.map(async (each) => {
        const [, cancelled] = await Promise.allSettled([
          factory.trpc.factory.release.mutate({ ...fenceOf(each, factoryId), reason: "drain" }),
          service.trpc.jobs.cancel.mutate({ jobId: each.job._id }),
        ]);
        if (cancelled.status === "rejected") refused.push(String(cancelled.reason));
      }),
    );
    expect(refused).toEqual([]);
    for (const each of claimed)
      await poll(async () => (await service.trpc.jobs.get.query({ jobId: each.job._id })).stage === "cancelled", {
        what: `${each.job._id} to be cancelled`,
      });
  });

  it("cancel with a concurrent completion is refused only naming the stage the job ended in", {
    timeout: 120_000,
  }, async () => {
    const factoryId = await registerFactory(factory, { capabilities: ["cancel-complete"], seatLimit: 64 });
    for (let i = 0; i < ROUNDS; i++) await createJob(service, { capabilities: ["cancel-complete"] });
    const claimed = await claimAll(factoryId, ROUNDS);
    const wrong: string[] = [];
    await Promise.all(
      claimed.map(async (each) => {
        const [, cancelled] = await Promise.allSettled([
          factory.trpc.factory.complete.mutate({ ...fenceOf(each, factoryId), result: "success" }),
          service.trpc.jobs.cancel.mutate({ jobId: each.job._id }),
        ]);
        if (cancelled.status === "fulfilled") return;
        const error = await rejection(Promise.reject(cancelled.reason));
        const stage = (await service.trpc.jobs.get.query({ jobId: each.job._id })).stage;
        if (codeOf(error).code !== "PRECONDITION_FAILED" || stage !== "shipped" || !error.message.includes("shipped"))
          wrong.push(`${each.job._id} (${stage}): ${error.message}`);
      }),
    );
    expect(wrong).toEqual([]);
  });
});
