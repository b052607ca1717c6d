import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestClient, codeOf, rejection } from "./support/client.js";
import { Harness, claimOne, createJob, fenceOf, registerFactory } from "./support/harness.js";

describe("profiles: immutable versions", () => {
  let h: Harness;
  let service: TestClient;
  let factory: TestClient;
  beforeAll(async () => {
    h = await Harness.start("profiles", { env: { GF_LEASE_TTL: "1h" } });
    service = await h.as("service");
    factory = await h.as("factory");
  });
  afterAll(() => h?.close());

  it("publishing a change makes a new version; old versions stay as they were", async () => {
    const v1 = await service.trpc.profiles.publish.mutate({
      name: "reviewer",
      snapshot: { persona: "strict", model: "opus" },
    });
    const storedV1 = await h.db.collection("profiles").findOne({ name: "reviewer", version: 1 });
    const v2 = await service.trpc.profiles.publish.mutate({
      name: "reviewer",
      snapshot: { persona: "lenient", model: "sonnet", maxTurns: 5 },
    });
    expect([v1.version, v2.version]).toEqual([1, 2]);

    expect(await service.trpc.profiles.get.query({ name: "reviewer" })).toMatchObject({
      version: 2,
      snapshot: { persona: "lenient", model: "sonnet", maxTurns: 5 },
    });
    expect(await service.trpc.profiles.get.query({ name: "reviewer", version: 1 })).toMatchObject({
      version: 1,
      snapshot: { persona: "strict", model: "opus" },
    });
    expect(await h.db.collection("profiles").findOne({ name: "reviewer", version: 1 })).toEqual(storedV1);
    expect((await service.trpc.profiles.list.query({ name: "reviewer" })).map((p) => p.version)).toEqual([2, 1]);
    expect(codeOf(await rejection(service.trpc.profiles.get.query({ name: "reviewer", version: 3 }))).code).toBe(
      "NOT_FOUND",
    );
  });

  it("concurrent publishes each get their own version", async () => {
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        h.client(service.token).trpc.profiles.publish.mutate({ name: "racer", snapshot: { persona: `take ${i}` } }),
      ),
    );
    expect(results.map((p) => p.version).sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // each version holds the snapshot its publisher sent
    for (const published of results) {
      expect(await service.trpc.profiles.get.query({ name: "racer", version: published.version })).toMatchObject({
        snapshot: published.snapshot,
      });
    }
  });

  it("a job pins the version current at creation; a later publish does not change what it runs with", async () => {
    await service.trpc.profiles.publish.mutate({ name: "builder", snapshot: { persona: "v1" } });
    const v2 = await service.trpc.profiles.publish.mutate({
      name: "builder",
      snapshot: { persona: "v2", engine: "shell" },
    });
    const pinnedLatest = await createJob(service, {
      profile: { name: "builder" },
      capabilities: ["profiles"],
      priority: 2,
    });
    const pinnedOld = await createJob(service, {
      profile: { name: "builder", version: 1 },
      capabilities: ["profiles"],
      priority: 1,
    });
    expect(pinnedLatest.profile).toEqual({ name: "builder", version: 2 });
    expect(pinnedOld.profile).toEqual({ name: "builder", version: 1 });
    await service.trpc.profiles.publish.mutate({ name: "builder", snapshot: { persona: "v3" } });

    const f = await registerFactory(factory, { capabilities: ["profiles"] });
    const first = await claimOne(factory, f);
    expect(first.job._id).toBe(pinnedLatest._id);
    expect(first.profileSnapshot).toEqual(v2.snapshot);
    const second = await claimOne(factory, f);
    expect(second.profileSnapshot).toEqual({ persona: "v1" });
    const [run] = await service.trpc.jobs.runs.query({ jobId: pinnedLatest._id });
    expect(run?.profileSnapshot).toEqual(v2.snapshot);
    await factory.trpc.factory.complete.mutate({ ...fenceOf(first, f), result: "success" });
    await factory.trpc.factory.complete.mutate({ ...fenceOf(second, f), result: "success" });
  });
});
