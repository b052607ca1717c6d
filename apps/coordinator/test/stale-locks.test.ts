import type { Job, Lock } from "@gigafactory/schema";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Harness, createJob, poll } from "./support/harness.js";

/**
 * The reaper's stale-lock backstop reads every lock, page by page: a stale lock behind more
 * than a thousand live ones is still freed, and the live ones stay.
 */
describe("stale-lock backstop", () => {
  let h: Harness;
  beforeAll(async () => {
    // a short lease only makes the reaper sweep often (every 500 ms)
    h = await Harness.start("stale-locks", { env: { GF_LEASE_TTL: "2s" } });
  });
  afterAll(() => h?.close());

  it("frees a stale lock that sits after 1,200 live ones", { timeout: 120_000 }, async () => {
    const service = await h.as("service");
    const job = await createJob(service, { capabilities: ["stale-locks-never-claimed"] });
    // the job holds its locks at epoch 1, with a lease that does not run out during the test
    await h.db.collection<Job>("jobs").updateOne(
      { _id: job._id },
      {
        $set: {
          stage: "building",
          "lease.holder": "f-stale-locks",
          "lease.epoch": 1,
          "lease.expiresAt": new Date(Date.now() + 3_600_000),
        },
      },
    );
    const lock = (name: string, epoch: number): Lock => ({
      _id: `${job.productId}:${name}`,
      productId: job.productId,
      name,
      jobId: job._id,
      epoch,
      acquiredAt: new Date(),
    });
    const live = Array.from({ length: 1_200 }, (_, i) => lock(`live-${String(i).padStart(5, "0")}`, 1));
    await h.db.collection<Lock>("locks").insertMany(live);
    // an earlier epoch of the same job: stale, and last both in _id and in insertion order
    await h.db.collection<Lock>("locks").insertOne(lock("zz-stale", 0));

    await poll(async () => (await h.db.collection<Lock>("locks").countDocuments({ name: "zz-stale" })) === 0, {
      tries: 300,
      everyMs: 100,
      what: "the stale lock past the first 1,000 to be freed",
    });
    expect(await h.db.collection<Lock>("locks").countDocuments({ jobId: job._id, epoch: 1 })).toBe(1_200);
  });
});
