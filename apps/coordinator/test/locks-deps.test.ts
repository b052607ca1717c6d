import type { ClaimedJob } from "@gigafactory/schema";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestClient } from "./support/client.js";
import { Harness, createJob, fenceOf, registerFactory } from "./support/harness.js";

describe("locks, dependencies, capabilities and engines", () => {
  let h: Harness;
  let service: TestClient;
  let factory: TestClient;
  beforeAll(async () => {
    h = await Harness.start("locks-deps");
    service = await h.as("service");
    factory = await h.as("factory");
  });
  afterAll(() => h?.close());

  const claim = async (factoryId: string, max = 1): Promise<ClaimedJob[]> =>
    (await factory.trpc.factory.claim.mutate({ factoryId, max })).jobs;
  const ship = (claimed: ClaimedJob, factoryId: string) =>
    factory.trpc.factory.complete.mutate({ ...fenceOf(claimed, factoryId), result: "success" });

  it("a second job with a held lock is not handed out until the first one finishes", async () => {
    const f1 = await registerFactory(factory, { capabilities: ["lock-basic"] });
    const f2 = await registerFactory(factory, { capabilities: ["lock-basic"] });
    const first = await createJob(service, { lock: "deploy-prod", priority: 5, capabilities: ["lock-basic"] });
    const second = await createJob(service, { lock: "deploy-prod", priority: 5, capabilities: ["lock-basic"] });
    const free = await createJob(service, { priority: 1, capabilities: ["lock-basic"] });

    const [held] = await claim(f1);
    expect(held?.job._id).toBe(first._id);
    // f2 is skipped past the locked job to the lower-priority free one, then gets nothing
    expect((await claim(f2, 5)).map((c) => c.job._id)).toEqual([free._id]);
    expect(await claim(f2, 5)).toEqual([]);
    expect(await h.db.collection("locks").findOne({ name: "deploy-prod" })).toMatchObject({
      jobId: first._id,
      epoch: held?.epoch,
    });

    if (!held) throw new Error("no claim");
    await ship(held, f1);
    expect(await h.db.collection("locks").countDocuments({ name: "deploy-prod" })).toBe(0);
    const [next] = await claim(f2);
    expect(next?.job._id).toBe(second._id);
  });

  it("concurrent claimers never hold two jobs with the same lock at once", { timeout: 120_000 }, async () => {
    const capability = "lock-race";
    const locks = ["alpha", "beta", "gamma"];
    const jobs = await Promise.all(
      Array.from({ length: 18 }, (_, i) =>
        createJob(service, { lock: locks[i % locks.length], capabilities: [capability], priority: i % 4 }),
      ),
    );
    const unlocked = await Promise.all(
      Array.from({ length: 6 }, () => createJob(service, { capabilities: [capability] })),
    );
    const factories = await Promise.all(
      Array.from({ length: 6 }, () => registerFactory(factory, { capabilities: [capability] })),
    );

    const holding = new Map<string, string>(); // lock → job id, as the claimers saw it
    const violations: string[] = [];
    const shipped: string[] = [];
    await Promise.all(
      factories.map(async (factoryId) => {
        const client = h.client(factory.token);
        for (let round = 0; round < 1_000 && shipped.length < jobs.length + unlocked.length; round++) {
          const [claimed] = (await client.trpc.factory.claim.mutate({ factoryId })).jobs;
          if (!claimed) {
            await new Promise((resolve) => setTimeout(resolve, 20));
            continue;
          }
          const lock = claimed.job.lock;
          if (lock) {
            const other = holding.get(lock);
            if (other) violations.push(`${lock}: ${claimed.job._id} claimed while ${other} held it`);
            holding.set(lock, claimed.job._id);
          }
          // hold it across a round trip so overlaps have a chance to happen
          await client.trpc.factory.renew.mutate(fenceOf(claimed, factoryId));
          // let go in our books before the coordinator frees the lock, so the check stays sound
          if (lock && holding.get(lock) === claimed.job._id) holding.delete(lock);
          await client.trpc.factory.complete.mutate({ ...fenceOf(claimed, factoryId), result: "success" });
          shipped.push(claimed.job._id);
        }
      }),
    );
    expect(violations).toEqual([]);
    expect(new Set(shipped)).toEqual(new Set([...jobs, ...unlocked].map((job) => job._id)));
    expect(shipped).toHaveLength(jobs.length + unlocked.length);
    expect(await h.db.collection("locks").countDocuments({ name: { $in: locks } })).toBe(0);
    // a lost lock race is undone without a trace: no attempt counted, no run started
    for (const job of jobs) {
      const stored = await service.trpc.jobs.get.query({ jobId: job._id });
      expect(stored.stage).toBe("shipped");
      expect(stored.attempt).toBe(1);
      expect((await service.trpc.jobs.runs.query({ jobId: job._id })).map((run) => run.result)).toEqual(["success"]);
    }
  });

  it("a dependent is not handed out before its dependency shipped", async () => {
    const f = await registerFactory(factory, { capabilities: ["deps"] });
    const dep = await createJob(service, { idempotencyKey: "deps-build", priority: 0, capabilities: ["deps"] });
    // higher priority than its dependency, named by idempotency key
    const dependent = await createJob(service, { deps: ["deps-build"], priority: 100, capabilities: ["deps"] });
    expect(dependent.deps).toEqual([dep._id]);
    expect(dependent.pendingDeps).toEqual([dep._id]);

    const claimed = await claim(f, 5);
    expect(claimed.map((c) => c.job._id)).toEqual([dep._id]);
    const [running] = claimed;
    if (!running) throw new Error("no claim");
    // building is not shipped: still blocked
    await factory.trpc.factory.advance.mutate({ ...fenceOf(running, f), to: "testing" });
    expect(await claim(f)).toEqual([]);
    await ship(running, f);

    const [next] = await claim(f);
    expect(next?.job._id).toBe(dependent._id);
    expect(next?.job.pendingDeps).toEqual([]);
    // the dependency's completion came before the dependent's claim
    const depDone = (await service.trpc.jobs.events.query({ jobId: dep._id })).items.find(
      (e) => e.type === "completed",
    );
    const started = (await service.trpc.jobs.events.query({ jobId: dependent._id })).items.find(
      (e) => e.type === "claimed",
    );
    expect(depDone && started && depDone.at.getTime() <= started.at.getTime()).toBe(true);
  });

  it("a dependent fails, naming the dependency, when the dependency fails", async () => {
    const f = await registerFactory(factory, { capabilities: ["deps-fail"] });
    const dep = await createJob(service, { maxAttempts: 1, capabilities: ["deps-fail"], title: "migrate database" });
    const dependent = await createJob(service, { deps: [dep._id], capabilities: ["deps-fail"] });
    const grandchild = await createJob(service, { deps: [dependent._id], capabilities: ["deps-fail"] });

    const [running] = await claim(f);
    expect(running?.job._id).toBe(dep._id);
    if (!running) throw new Error("no claim");
    expect(
      await factory.trpc.factory.complete.mutate({ ...fenceOf(running, f), result: "failure", reason: "exit 2" }),
    ).toEqual({ stage: "failed" });

    const failed = await service.trpc.jobs.get.query({ jobId: dependent._id });
    expect(failed.stage).toBe("failed");
    expect(failed.reason).toContain(dep._id);
    expect(failed.reason).toContain("migrate database");
    // and it cascades
    const cascaded = await service.trpc.jobs.get.query({ jobId: grandchild._id });
    expect(cascaded.stage).toBe("failed");
    expect(cascaded.reason).toContain(dependent._id);
    expect(await claim(f)).toEqual([]);

    // a job created after its dependency failed fails at once
    const late = await createJob(service, { deps: [dep._id], capabilities: ["deps-fail"] });
    expect(late.stage).toBe("failed");
    expect(late.reason).toContain(dep._id);
  });

  it("any-mode dependencies: one shipped dependency is enough", async () => {
    const f = await registerFactory(factory, { capabilities: ["deps-any"] });
    const a = await createJob(service, { capabilities: ["deps-any"], priority: 2 });
    const b = await createJob(service, { capabilities: ["deps-any"], priority: 1 });
    const either = await createJob(service, {
      deps: [a._id, b._id],
      depsMode: "any",
      capabilities: ["deps-any"],
      priority: 50,
    });
    const [first] = await claim(f);
    expect(first?.job._id).toBe(a._id);
    if (!first) throw new Error("no claim");
    await ship(first, f);
    const [next] = await claim(f);
    expect(next?.job._id).toBe(either._id);
  });

  it("a factory never gets a job whose capabilities or engine it lacks", async () => {
    const gpuJob = await createJob(service, { capabilities: ["match", "gpu"], priority: 10 });
    const codexJob = await createJob(service, { capabilities: ["match"], engine: "codex", priority: 10 });
    const plainJob = await createJob(service, { capabilities: ["match"], priority: 0 });

    const cpuShell = await registerFactory(factory, { capabilities: ["match", "os:linux"], engines: ["shell"] });
    const gpuShell = await registerFactory(factory, { capabilities: ["match", "gpu", "os:linux"], engines: ["shell"] });
    const cpuCodex = await registerFactory(factory, { capabilities: ["match"], engines: ["codex"] });
    const bare = await registerFactory(factory, { capabilities: [], engines: ["shell", "codex"] });

    // the factory with no capabilities at all gets none of these
    expect(await claim(bare, 5)).toEqual([]);
    // the plain shell factory only gets the job it can run, although the others rank higher
    expect((await claim(cpuShell, 5)).map((c) => c.job._id)).toEqual([plainJob._id]);
    expect((await claim(gpuShell, 5)).map((c) => c.job._id)).toEqual([gpuJob._id]);
    expect((await claim(cpuCodex, 5)).map((c) => c.job._id)).toEqual([codexJob._id]);
  });
});
