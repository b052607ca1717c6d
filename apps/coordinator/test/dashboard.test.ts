import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Harness, claimOne, createJob, registerFactory } from "./support/harness.js";

describe("dashboard read models", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.start("dashboard");
  });
  afterAll(() => h?.close());

  it("counts jobs by stage in the caller's product, with the queue's oldest wait and who runs what", async () => {
    const service = await h.as("service");
    const factory = await h.as("factory");
    const other = await h.as("service", "other-product");
    await createJob(other);
    const first = await createJob(service, { title: "first" });
    await createJob(service, { title: "second" });
    await createJob(service, { title: "third", priority: 5 });
    const factoryId = await registerFactory(factory, { seatLimit: 3 });
    const claimed = await claimOne(factory, factoryId);

    const overview = await service.trpc.dashboard.overview.query();
    expect(overview.byStage).toEqual({
      inbox: 2,
      building: 1,
      review: 0,
      testing: 0,
      shipped: 0,
      failed: 0,
      cancelled: 0,
    });
    expect(overview.queue).toEqual({ depth: 2, oldestQueuedAt: first.queuedAt });
    expect(overview.running).toEqual([
      expect.objectContaining({ jobId: claimed.job._id, title: "third", stage: "building", factoryId }),
    ]);
    expect(overview.factories).toEqual([expect.objectContaining({ factoryId, seatLimit: 3, state: "active" })]);
    expect(overview.factories[0]).not.toHaveProperty("tokenId");
    expect(overview.staleAfterMs).toBeGreaterThan(0);

    const elsewhere = await other.trpc.dashboard.overview.query();
    expect(elsewhere.byStage.inbox).toBe(1);
    expect(elsewhere.factories).toEqual([]);
  });

  it("shows factories to service tokens and says who a token is; refuses factory tokens", async () => {
    const service = await h.as("service");
    expect(await service.trpc.dashboard.whoami.query()).toEqual({ role: "service", productId: "default" });
    const { factories } = await service.trpc.dashboard.factories.query();
    expect(factories.length).toBeGreaterThan(0);
    const factory = await h.as("factory");
    expect(await factory.trpc.dashboard.whoami.query()).toMatchObject({ role: "factory" });
    await expect(factory.trpc.dashboard.overview.query()).rejects.toMatchObject({ data: { code: "FORBIDDEN" } });
  });

  it("searches titles (any case, literally), idempotency keys and ids, a page at a time", async () => {
    const service = await h.as("service", "search-product");
    const a = await createJob(service, { title: "Fix the (login) bug", idempotencyKey: "ticket-1" });
    const b = await createJob(service, { title: "fix LOGIN page", idempotencyKey: "ticket-2" });
    await createJob(service, { title: "unrelated", idempotencyKey: "ticket-3" });
    const ids = async (text: string, limit = 50) =>
      (await service.trpc.dashboard.searchJobs.query({ text, limit })).items.map((job) => job._id);
    expect(await ids("login")).toEqual([b._id, a._id]);
    expect(await ids("(login)")).toEqual([a._id]);
    expect(await ids(".*")).toEqual([]);
    expect(await ids("ticket-3")).toHaveLength(1);
    expect(await ids(a._id)).toEqual([a._id]);
    const first = await service.trpc.dashboard.searchJobs.query({ text: "login", limit: 1 });
    expect(first.items.map((job) => job._id)).toEqual([b._id]);
    const second = await service.trpc.dashboard.searchJobs.query({
      text: "login",
      limit: 1,
      cursor: first.nextCursor ?? "",
    });
    expect(second).toMatchObject({ items: [expect.objectContaining({ _id: a._id })], nextCursor: null });
    await expect(service.trpc.dashboard.searchJobs.query({ text: "" })).rejects.toMatchObject({
      data: { code: "BAD_REQUEST" },
    });
  });
});
