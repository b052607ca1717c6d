import type { SpawnedCoordinator } from "@gigafactory/coordinator/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestClient, codeOf, rejection } from "./support/client.js";
import { Harness, claimOne, fenceOf, poll, registerFactory } from "./support/harness.js";

/**
 * Two coordinators on one database: `short` leases for 1s (its reaper takes the first lease
 * back), `long` leases for an hour, so the second lease cannot expire while the test compares
 * snapshots. Lease length is the only difference between them.
 */
describe("epoch fencing after a lease expired", () => {
  let h: Harness;
  let long: SpawnedCoordinator;
  beforeAll(async () => {
    h = await Harness.start("fencing", { env: { GF_LEASE_TTL: "1s", GF_BACKOFF_BASE: "100ms" } });
    long = await h.second({ GF_LEASE_TTL: "1h" });
  });
  afterAll(() => h?.close());

  it("rejects every write of the old epoch as FENCED and changes nothing; the first run is lost; completion happens once", async () => {
    const service = await h.as("service");
    const factoryToken = await h.token("factory");
    const shortFactory = h.client(factoryToken);
    const longFactory = h.client(factoryToken, long.url);
    const a = await registerFactory(shortFactory, { factoryId: "factory-a" });
    const b = await registerFactory(shortFactory, { factoryId: "factory-b" });
    const { job } = await service.trpc.jobs.create.mutate({ bodyMd: "fenced work", maxAttempts: 3 });

    // A claims through the short-lease coordinator, then goes silent
    const first = await claimOne(shortFactory, a);
    expect(first.job._id).toBe(job._id);
    const oldFence = fenceOf(first, a);

    // the reaper takes the lease back: inbox, epoch bumped; its `lost` event is its last write
    await poll(
      async () =>
        (await service.trpc.jobs.events.query({ jobId: job._id })).items.some((event) => event.type === "lost"),
      { what: "the reaper to take the lease back" },
    );
    const reaped = await service.trpc.jobs.get.query({ jobId: job._id });
    expect(reaped.stage).toBe("inbox");
    expect(reaped.lease.epoch).toBe(first.epoch + 1);
    expect(reaped.lease.holder).toBeNull();
    expect(reaped.lastResult).toBe("lost");

    // B claims it again through the long-lease coordinator (once the backoff has passed)
    const second = await claimOne(longFactory, b);
    expect(second.job._id).toBe(job._id);
    expect(second.epoch).toBe(reaped.lease.epoch + 1);
    await longFactory.trpc.factory.appendEvents.mutate({
      ...fenceOf(second, b),
      events: [{ type: "log", data: { line: "B took over" } }],
    });

    const snapshot = () =>
      Promise.all([
        h.db.collection("jobs").findOne({ _id: job._id as never }),
        h.db.collection("events").find({ jobId: job._id }).sort({ seq: 1 }).toArray(),
        h.db.collection("runs").find({ jobId: job._id }).sort({ attempt: 1 }).toArray(),
        h.db.collection("artifacts").find({ jobId: job._id }).toArray(),
        h.db.collection("locks").find({}).toArray(),
      ]);
    const before = await snapshot();

    const checkpoint = { wipBranch: "gf/wip", wipBase: "0a1b2c3", wipCommit: "abcdef1" };
    const staleWrites: Array<[string, (client: TestClient) => Promise<unknown>]> = [
      ["renew", (c) => c.trpc.factory.renew.mutate(oldFence)],
      ["advance", (c) => c.trpc.factory.advance.mutate({ ...oldFence, to: "testing" })],
      [
        "appendEvents",
        (c) => c.trpc.factory.appendEvents.mutate({ ...oldFence, events: [{ type: "log", data: { line: "zombie" } }] }),
      ],
      ["checkpoint", (c) => c.trpc.factory.checkpoint.mutate({ ...oldFence, checkpoint })],
      ["complete", (c) => c.trpc.factory.complete.mutate({ ...oldFence, result: "success" })],
      ["release", (c) => c.trpc.factory.release.mutate({ ...oldFence, reason: "zombie release" })],
    ];
    // through both coordinators: the fence is in the database, not in a process
    for (const client of [shortFactory, longFactory]) {
      for (const [name, write] of staleWrites) {
        const error = await rejection(write(client));
        expect({ name, ...codeOf(error) }).toEqual({ name, code: "CONFLICT", reason: "FENCED" });
      }
      const upload = await fetch(
        `${client.url}/artifacts?${new URLSearchParams({ jobId: job._id, epoch: String(oldFence.epoch), factoryId: a, runId: first.runId, name: "zombie.log" })}`,
        {
          method: "PUT",
          headers: { authorization: `Bearer ${factoryToken}`, "content-type": "text/plain" },
          body: "zombie bytes",
        },
      );
      expect(upload.status).toBe(409);
      expect(await upload.json()).toMatchObject({ error: "CONFLICT", reason: "FENCED" });
    }

    expect(await snapshot()).toEqual(before);

    // the first run was lost, the second is still going
    const runs = await service.trpc.jobs.runs.query({ jobId: job._id });
    expect(runs.map((run) => [run.factoryId, run.epoch, run.result])).toEqual([
      [a, first.epoch, "lost"],
      [b, second.epoch, undefined],
    ]);

    // B completes once; a second completion of the same epoch is refused and changes nothing
    expect(await longFactory.trpc.factory.complete.mutate({ ...fenceOf(second, b), result: "success" })).toEqual({
      stage: "shipped",
    });
    const shipped = await snapshot();
    const again = await rejection(
      longFactory.trpc.factory.complete.mutate({ ...fenceOf(second, b), result: "failure" }),
    );
    expect(codeOf(again)).toEqual({ code: "CONFLICT", reason: "FENCED" });
    expect(await snapshot()).toEqual(shipped);
    const final = await service.trpc.jobs.get.query({ jobId: job._id });
    expect(final.stage).toBe("shipped");
    const { items } = await service.trpc.jobs.events.query({ jobId: job._id, limit: 1_000 });
    expect(items.filter((event) => event.type === "completed")).toHaveLength(1);
    expect(items.some((event) => event.data.line === "zombie")).toBe(false);
    expect((await service.trpc.jobs.runs.query({ jobId: job._id })).map((run) => run.result)).toEqual([
      "lost",
      "success",
    ]);
  });

  it("a lease lost on the last attempt fails the job, says why, and frees its lock", async () => {
    const service = await h.as("service");
    const factory = h.client(await h.token("factory"));
    const f = await registerFactory(factory, { capabilities: ["last-attempt"] });
    const { job } = await service.trpc.jobs.create.mutate({
      bodyMd: "one shot",
      maxAttempts: 1,
      lock: "last-attempt-lock",
      capabilities: ["last-attempt"],
    });
    const claimed = await claimOne(factory, f);
    expect(claimed.job._id).toBe(job._id);
    expect(await h.db.collection("locks").countDocuments({ name: "last-attempt-lock" })).toBe(1);

    // the reaper frees the lock last (after the job, the run and the event)
    await poll(async () => (await h.db.collection("locks").countDocuments({ name: "last-attempt-lock" })) === 0, {
      what: "the reaper to free the lock",
    });
    const failed = await service.trpc.jobs.get.query({ jobId: job._id });
    expect(failed.stage).toBe("failed");
    expect(failed.reason).toContain(`lease of ${f} (epoch ${claimed.epoch}) expired`);
    expect(failed.lease).toMatchObject({ holder: null, epoch: claimed.epoch + 1 });
    expect((await service.trpc.jobs.runs.query({ jobId: job._id })).map((run) => run.result)).toEqual(["lost"]);
    expect(
      codeOf(await rejection(factory.trpc.factory.complete.mutate({ ...fenceOf(claimed, f), result: "success" }))),
    ).toEqual({ code: "CONFLICT", reason: "FENCED" });
  });

  it("renewals extend the lease under the same epoch", async () => {
    const service = await h.as("service");
    // the long-lease coordinator: this test is about renewals, not about racing the reaper
    const factory = h.client(await h.token("factory"), long.url);
    const f = await registerFactory(factory);
    const { job } = await service.trpc.jobs.create.mutate({ bodyMd: "kept alive" });
    const claimed = await claimOne(factory, f);
    expect(claimed.job._id).toBe(job._id);
    // each renewal pushes expiry forward and counts
    let expiresAt = claimed.leaseExpiresAt;
    for (let i = 0; i < 5; i++) {
      const renewed = await factory.trpc.factory.renew.mutate(fenceOf(claimed, f));
      expect(renewed.expiresAt.getTime()).toBeGreaterThanOrEqual(expiresAt.getTime());
      expect(renewed.cancelRequested).toBe(false);
      expiresAt = renewed.expiresAt;
    }
    const stored = await service.trpc.jobs.get.query({ jobId: job._id });
    expect(stored.lease).toMatchObject({ holder: f, epoch: claimed.epoch, renewals: 5 });
    expect(await factory.trpc.factory.complete.mutate({ ...fenceOf(claimed, f), result: "success" })).toEqual({
      stage: "shipped",
    });
  });
});
