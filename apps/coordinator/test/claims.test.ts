import type { ClaimedJob } from "@gigafactory/schema";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Harness, registerFactory } from "./support/harness.js";

const CLAIMERS = 50;
const JOBS = 200;

describe("claims under contention", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.start("claims");
  });
  afterAll(() => h?.close());

  it(`${CLAIMERS} concurrent claimers over ${JOBS} jobs: each job claimed exactly once, each claimer's claims by non-increasing priority`, {
    timeout: 180_000,
  }, async () => {
    const service = await h.as("service");
    // mixed priorities, not in creation order: -5..5
    const priorities = Array.from({ length: JOBS }, (_, i) => ((i * 7) % 11) - 5);
    const created = await Promise.all(
      priorities.map((priority, i) =>
        service.trpc.jobs.create.mutate({ bodyMd: `job ${i}`, priority, idempotencyKey: `claims-${i}` }),
      ),
    );
    expect(created.every((result) => result.created)).toBe(true);
    const priorityOf = new Map(created.map(({ job }) => [job._id, job.priority]));

    const factoryClient = await h.as("factory");
    const factoryIds = await Promise.all(
      Array.from({ length: CLAIMERS }, (_, i) =>
        registerFactory(factoryClient, { factoryId: `claimer-${i}`, seatLimit: 256 }),
      ),
    );

    // each claimer: its own client, claims one at a time until the queue is empty (bounded)
    const sequences = await Promise.all(
      factoryIds.map(async (factoryId) => {
        const client = h.client(factoryClient.token);
        const mine: ClaimedJob[] = [];
        for (let i = 0; i <= JOBS; i++) {
          const { jobs } = await client.trpc.factory.claim.mutate({ factoryId, max: 1 });
          if (jobs.length === 0) break;
          mine.push(...jobs);
        }
        return { factoryId, claims: mine };
      }),
    );

    const all = sequences.flatMap((each) => each.claims.map((claim) => claim.job._id));
    expect(all).toHaveLength(JOBS); // none left over, none twice...
    expect(new Set(all).size).toBe(JOBS); // ...no job handed out twice
    expect(new Set(all)).toEqual(new Set(priorityOf.keys()));

    for (const { claims } of sequences) {
      const seen = claims.map((claim) => claim.job.priority);
      for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeLessThanOrEqual(seen[i - 1] as number);
      // what the claimer was told matches what was stored at creation
      for (const claim of claims) expect(claim.job.priority).toBe(priorityOf.get(claim.job._id));
    }

    // the database agrees with what the claimers were told: one lease, one run, one claimed event each
    const holderOf = new Map(
      sequences.flatMap(({ factoryId, claims }) =>
        claims.map((claim) => [claim.job._id, { factoryId, epoch: claim.epoch, runId: claim.runId }] as const),
      ),
    );
    const stored = await h.db.collection("jobs").find({}).toArray();
    expect(stored).toHaveLength(JOBS);
    for (const job of stored) {
      const told = holderOf.get(String(job._id));
      expect(job.stage).toBe("building");
      expect(job.lease).toMatchObject({ holder: told?.factoryId, epoch: 1, runId: told?.runId });
      expect(job.attempt).toBe(1);
    }
    const runs = await h.db.collection("runs").find({}).toArray();
    expect(runs).toHaveLength(JOBS);
    expect(new Set(runs.map((run) => run.jobId)).size).toBe(JOBS);
    expect(await h.db.collection("events").countDocuments({ type: "claimed" })).toBe(JOBS);

    // and nothing is left to claim
    const { jobs: leftover } = await factoryClient.trpc.factory.claim.mutate({ factoryId: "claimer-0" });
    expect(leftover).toEqual([]);
  });

  it("claims several at once up to the seat limit, best first", async () => {
    const service = await h.as("service");
    const factory = await h.as("factory");
    const factoryId = await registerFactory(factory, { seatLimit: 2, capabilities: ["batch"] });
    const low = await service.trpc.jobs.create.mutate({ bodyMd: "low", priority: 1, capabilities: ["batch"] });
    const high = await service.trpc.jobs.create.mutate({ bodyMd: "high", priority: 9, capabilities: ["batch"] });
    const mid = await service.trpc.jobs.create.mutate({ bodyMd: "mid", priority: 5, capabilities: ["batch"] });

    const first = await factory.trpc.factory.claim.mutate({ factoryId, max: 5 });
    expect(first.jobs.map((claim) => claim.job._id)).toEqual([high.job._id, mid.job._id]);
    // seats are full: nothing more until one is given back
    expect((await factory.trpc.factory.claim.mutate({ factoryId, max: 5 })).jobs).toEqual([]);
    const [done] = first.jobs;
    if (!done) throw new Error("no claim");
    await factory.trpc.factory.complete.mutate({
      jobId: done.job._id,
      epoch: done.epoch,
      factoryId,
      result: "success",
    });
    const next = await factory.trpc.factory.claim.mutate({ factoryId, max: 5 });
    expect(next.jobs.map((claim) => claim.job._id)).toEqual([low.job._id]);
  });

  it("an unregistered factory is told so instead of getting nothing", async () => {
    const factory = await h.as("factory");
    const error = await factory.trpc.factory.claim
      .mutate({ factoryId: "never-registered" })
      .catch((err: unknown) => err);
    expect(error).toMatchObject({ data: { code: "NOT_FOUND" } });
  });
});
