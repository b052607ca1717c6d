import type { SpawnedCoordinator } from "@gigafactory/coordinator/testing";
import type { FactoryMessage, FeedItem, JobEvent } from "@gigafactory/schema";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestClient, createClient } from "./support/client.js";
import { Collector } from "./support/collector.js";
import { Harness, claimOne, createJob, fenceOf, poll, registerFactory } from "./support/harness.js";

type Tracked<T> = { id: string; data: T };

describe("subscriptions", () => {
  let h: Harness;
  let b: SpawnedCoordinator;
  let service: TestClient;
  let factory: TestClient;
  beforeAll(async () => {
    h = await Harness.start("subscriptions", { env: { GF_LEASE_TTL: "1h", GF_NOTIFIER_POLL: "100ms" } });
    b = await h.second({ GF_LEASE_TTL: "1h", GF_NOTIFIER_POLL: "100ms" });
    service = await h.as("service");
    factory = await h.as("factory");
  });
  afterAll(() => h?.close());

  const watch = (client: TestClient, jobId: string, lastEventId?: string) =>
    new Collector<Tracked<JobEvent>>((handlers) =>
      client.trpc.jobs.watch.subscribe({ jobId, ...(lastEventId ? { lastEventId } : {}) }, handlers),
    );

  it("jobs.watch: a subscriber that disconnects and resumes with its last id misses nothing and sees nothing twice", {
    timeout: 120_000,
  }, async () => {
    const f = await registerFactory(factory, { capabilities: ["watch-resume"] });
    const job = await createJob(service, { capabilities: ["watch-resume"] });
    const claimed = await claimOne(factory, f);
    const fence = fenceOf(claimed, f);

    // a writer keeps appending while the subscriber comes and goes
    const BATCHES = 30;
    let written = 0;
    const writer = (async () => {
      for (let i = 0; i < BATCHES; i++) {
        await factory.trpc.factory.appendEvents.mutate({
          ...fence,
          events: Array.from({ length: 5 }, (_, n) => ({
            type: "log" as const,
            data: { line: `batch ${i} line ${n}` },
          })),
        });
        written++;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();

    const firstConnection = createClient({ url: h.url, token: service.token });
    const first = watch(firstConnection, job._id);
    await first.until((items) => items.length >= 20, "some events before the disconnect");
    // drop the whole WebSocket, not just the subscription
    await firstConnection.close();
    first.stop();
    const got = [...first.items];
    const lastId = got.at(-1)?.id;
    expect(lastId).toBeDefined();

    // resume on a new connection, to the other coordinator for good measure: the id is all it needs
    await poll(async () => written >= 10, { what: "the writer to get ahead while nobody listens" });
    await using secondConnection = createClient({ url: b.url, token: service.token });
    const second = watch(secondConnection, job._id, lastId);
    await writer;
    await factory.trpc.factory.complete.mutate({ ...fence, result: "success" });
    // the watch ends by itself once the job is final and every event was sent
    await poll(async () => second.completed || second.errors.length > 0, {
      tries: 400,
      what: "the watch to complete",
    });
    expect(second.errors).toEqual([]);
    got.push(...second.items);

    const stored = (await service.trpc.jobs.events.query({ jobId: job._id, limit: 1_000 })).items;
    const seqs = got.map((item) => item.data.seq);
    expect(new Set(seqs).size).toBe(seqs.length); // none twice
    expect(seqs).toEqual(stored.map((event) => event.seq)); // none missed, in order
    expect(got.map((item) => item.id)).toEqual(seqs.map(String)); // the tracked id is the seq
    expect(got.at(-1)?.data.type).toBe("completed");
    expect(stored.filter((event) => event.type === "log")).toHaveLength(BATCHES * 5);
  });

  it("jobs.watch misses nothing while several writers append to one job at once", { timeout: 120_000 }, async () => {
    // concurrent appends reserve seqs in one order and may insert them in another;
    // a watcher must not run past a seq that is reserved but not yet written
    const f = await registerFactory(factory, { capabilities: ["watch-concurrent"] });
    const job = await createJob(service, { capabilities: ["watch-concurrent"] });
    const claimed = await claimOne(factory, f);
    using watcher = watch(service, job._id);
    await watcher.until((items) => items.length >= 2, "the backfill");
    const writers = Array.from({ length: 8 }, () => h.client(factory.token));
    await Promise.all(
      writers.map(async (writer, w) => {
        for (let i = 0; i < 15; i++) {
          await writer.trpc.factory.appendEvents.mutate({
            ...fenceOf(claimed, f),
            events: [{ type: "log", data: { w, i } }],
          });
        }
      }),
    );
    await service.trpc.jobs.cancel.mutate({ jobId: job._id });
    await factory.trpc.factory.complete.mutate({ ...fenceOf(claimed, f), result: "cancelled" });
    await poll(async () => watcher.completed || watcher.errors.length > 0, {
      tries: 400,
      what: "the watch to complete",
    });
    expect(watcher.errors).toEqual([]);
    const stored = (await service.trpc.jobs.events.query({ jobId: job._id, limit: 1_000 })).items.map(
      (event) => event.seq,
    );
    expect(stored).toHaveLength(2 + 8 * 15 + 2);
    expect(watcher.items.map((item) => item.data.seq)).toEqual(stored);
  });

  it("a subscriber on coordinator B sees events written through coordinator A", { timeout: 60_000 }, async () => {
    const f = await registerFactory(factory, { capabilities: ["two-coordinators"] });
    const job = await createJob(service, { capabilities: ["two-coordinators"] });
    await using onB = createClient({ url: b.url, token: service.token });
    await using factoryOnB = createClient({ url: b.url, token: factory.token });
    using watcher = watch(onB, job._id);
    using feed = new Collector<Tracked<FeedItem>>((handlers) => onB.trpc.jobs.feed.subscribe({}, handlers));
    using connect = new Collector<FactoryMessage>((handlers) =>
      factoryOnB.trpc.factory.connect.subscribe({ factoryId: f }, handlers),
    );
    await watcher.until(
      (items) => items.some((item) => item.data.type === "created"),
      "the backfilled created event on B",
    );
    await connect.until((messages) => messages.length > 0, "the connect subscription on B");

    // everything below goes through A
    const claimed = await claimOne(factory, f);
    await factory.trpc.factory.appendEvents.mutate({
      ...fenceOf(claimed, f),
      events: [{ type: "log", data: { line: "written through A" } }],
    });
    await service.trpc.jobs.cancel.mutate({ jobId: job._id, reason: "seen from B?" });

    await watcher.until(
      (items) => items.some((item) => item.data.type === "cancel_requested"),
      "A's events on B's watch",
    );
    expect(watcher.items.map((item) => item.data.type)).toEqual(["created", "claimed", "log", "cancel_requested"]);
    expect(watcher.items.find((item) => item.data.type === "log")?.data.data).toEqual({ line: "written through A" });
    // B's factory connection hears the cancel for the job its factory holds
    await connect.until((messages) => messages.some((m) => m.type === "cancel"), "the cancel on B's connect");
    expect(connect.items.find((m) => m.type === "cancel")).toEqual({
      type: "cancel",
      jobId: job._id,
      epoch: claimed.epoch,
    });
    // and B's feed carries A's writes
    await feed.until(
      (items) => items.some((item) => item.data.jobId === job._id && item.data.type === "cancel_requested"),
      "A's events on B's feed",
    );

    await factory.trpc.factory.complete.mutate({ ...fenceOf(claimed, f), result: "cancelled" });
    await poll(async () => watcher.completed, { tries: 400, what: "B's watch to end with the job" });
    const seqs = watcher.items.map((item) => item.data.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
  });

  it("jobs.feed on B resumed with its last id misses nothing written through A meanwhile", {
    timeout: 120_000,
  }, async () => {
    const f = await registerFactory(factory, { capabilities: ["feed-resume"] });
    const job = await createJob(service, { capabilities: ["feed-resume"] });
    const claimed = await claimOne(factory, f);
    const fence = fenceOf(claimed, f);
    // each line also claims a stage: the feed must not show it (a factory's events never set it)
    const append = (line: string) =>
      factory.trpc.factory.appendEvents.mutate({
        ...fence,
        events: [{ type: "log", data: { line, stage: "shipped" } }],
      });
    const feedOn = (client: TestClient, lastEventId?: string) =>
      new Collector<Tracked<FeedItem>>((handlers) =>
        client.trpc.jobs.feed.subscribe(lastEventId ? { lastEventId } : {}, handlers),
      );
    const mine = (items: Array<Tracked<FeedItem>>) => items.filter((item) => item.data.jobId === job._id);

    const firstConnection = createClient({ url: b.url, token: service.token });
    const first = feedOn(firstConnection);
    const got: Array<Tracked<FeedItem>> = [];
    try {
      // the feed starts after the newest event: wait until it is live, then write through A
      await poll(
        async () => {
          await append("probe");
          return mine(first.items).length > 0;
        },
        { tries: 100, what: "the feed on B to carry A's writes" },
      );
      for (let i = 0; i < 5; i++) await append(`before ${i}`);
      const written = (await service.trpc.jobs.events.query({ jobId: job._id, limit: 1_000 })).items.at(-1)?.seq;
      await first.until((items) => mine(items).some((item) => item.data.seq === written), "the first lines on B");
    } finally {
      first.stop();
      await firstConnection.close();
    }
    got.push(...first.items);
    const lastId = got.at(-1)?.id;
    expect(lastId).toBeDefined();

    // nobody listens while A writes more
    for (let i = 0; i < 20; i++) await append(`meanwhile ${i}`);
    const secondConnection = createClient({ url: b.url, token: service.token });
    const second = feedOn(secondConnection, lastId);
    try {
      for (let i = 0; i < 5; i++) await append(`after ${i}`);
      const stored = (await service.trpc.jobs.events.query({ jobId: job._id, limit: 1_000 })).items;
      const lastSeq = stored.at(-1)?.seq ?? 0;
      await second.until((items) => mine(items).some((item) => item.data.seq === lastSeq), "every line on B", 400);
      got.push(...second.items);
      const seqs = mine(got).map((item) => item.data.seq);
      expect(new Set(seqs).size).toBe(seqs.length); // none twice
      const firstSeen = seqs[0] ?? 0;
      expect(seqs).toEqual(stored.map((event) => event.seq).filter((seq) => seq >= firstSeen)); // none missed
      expect(stored.filter((event) => event.type === "log").length).toBeGreaterThanOrEqual(30);
      expect(mine(got).filter((item) => item.data.stage !== undefined)).toEqual([]);
    } finally {
      second.stop();
      await secondConnection.close();
    }
  });

  it("a new job nudges a subscribed factory that can run it, and not one that cannot", {
    timeout: 60_000,
  }, async () => {
    const able = await registerFactory(factory, { capabilities: ["nudge"] });
    const unable = await registerFactory(factory, { capabilities: ["other"], engines: ["aider"] });
    using ableConnect = new Collector<FactoryMessage>((handlers) =>
      factory.trpc.factory.connect.subscribe({ factoryId: able }, handlers),
    );
    using unableConnect = new Collector<FactoryMessage>((handlers) =>
      factory.trpc.factory.connect.subscribe({ factoryId: unable }, handlers),
    );
    await ableConnect.until((m) => m.length === 1, "the first nudge");
    await unableConnect.until((m) => m.length === 1, "the first nudge");
    await createJob(service, { capabilities: ["nudge"] });
    await ableConnect.until((m) => m.length === 2, "a nudge for the new job");
    expect(ableConnect.items).toEqual([{ type: "work" }, { type: "work" }]);
    // the factory without the capability or engine got only its greeting
    expect(unableConnect.items).toEqual([{ type: "work" }]);
  });
});
