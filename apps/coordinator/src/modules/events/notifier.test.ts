import type { JobEvent, Stage } from "@gigafactory/schema";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createLogger } from "../../logger.js";
import { FakeEvents, objectIdAt } from "../../testing/fake-events.js";
import { watchJob } from "../jobs/watch-stream.js";
import { type Notice, Notifier } from "./notifier.js";

const logger = createLogger({ level: "silent", pretty: false });
const T0 = 1_800_000_000; // seconds: the ObjectIds' clock, unrelated to this process's
const event = (jobId: string, seq: number, type: JobEvent["type"] = "log"): JobEvent => ({
  productId: "acme",
  jobId,
  seq,
  epoch: 1,
  type,
  at: new Date(),
  data: {},
});

let events: FakeEvents;
beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"] });
  events = new FakeEvents();
});
afterEach(() => {
  vi.useRealTimers();
});

function notifierWith(opts: { pollMs?: number; tailBatch?: number } = {}) {
  return new Notifier(events, { pollMs: 100, lookBackMs: 2_000, pollTimeoutMs: 1_000, logger, ...opts });
}

/** Everything the product's channel hears, as `jobId:seq`. */
function listen(notifier: Notifier): string[] {
  const heard: string[] = [];
  const subscription = notifier.product("acme", new AbortController().signal);
  const drainLoop = async () => {
    for (;;) {
      const notices: Notice[] = await subscription.next(60_000);
      for (const notice of notices)
        if (notice.kind === "event") heard.push(`${notice.event.jobId}:${notice.event.seq}`);
    }
  };
  void drainLoop();
  return heard;
}

describe("Notifier", () => {
  it("delivers an event written through another coordinator once, however long it stays in the look-back", async () => {
    events.insert(objectIdAt(T0, 1), event("old", 1));
    const notifier = notifierWith();
    const heard = listen(notifier);
    notifier.start();
    await vi.advanceTimersByTimeAsync(300);
    events.insert(objectIdAt(T0 + 1, 2), event("job-1", 1));
    // long past the time a remembered event used to be forgotten (10 s), with nothing newer written
    await vi.advanceTimersByTimeAsync(60_000);
    notifier.close();
    expect(heard).toEqual(["job-1:1"]);
  });

  it("remembers nothing when it does not tail (one coordinator alone)", async () => {
    const notifier = notifierWith({ pollMs: 0 });
    const heard = listen(notifier);
    notifier.start();
    notifier.publish(Array.from({ length: 5_000 }, (_, i) => event("job-1", i + 1)));
    await vi.advanceTimersByTimeAsync(0);
    expect(heard).toHaveLength(5_000);
    expect(notifier.remembered).toBe(0);
  });

  it("remembers only the look-back window while it tails", async () => {
    const notifier = notifierWith();
    notifier.start();
    for (let i = 0; i < 30; i++) {
      events.insert(objectIdAt(T0 + i * 10, i), event("job-1", i + 1));
      notifier.publish([event("job-2", i + 1)]);
      await vi.advanceTimersByTimeAsync(1_000);
    }
    await vi.advanceTimersByTimeAsync(20_000);
    // one event in the window (the newest), and none of the local ones after `seenForMs`
    expect(notifier.remembered).toBe(1);
    notifier.close();
  });

  it("keeps the look-back after a full batch: an event landing late below the newest is delivered", async () => {
    const notifier = notifierWith({ tailBatch: 2 });
    const heard = listen(notifier);
    notifier.start();
    await vi.advanceTimersByTimeAsync(100);
    events.insert(objectIdAt(T0, 1), event("job-1", 1));
    events.insert(objectIdAt(T0, 3), event("job-1", 2));
    events.insert(objectIdAt(T0, 4), event("job-1", 3));
    await vi.advanceTimersByTimeAsync(100);
    expect(heard).toEqual(["job-1:1", "job-1:2", "job-1:3"]);
    // a concurrent insert (or a writer's clock a second behind) lands below the newest `_id` read
    events.insert(objectIdAt(T0 - 1, 9, "bbbbbbbbbb"), event("job-2", 1));
    events.insert(objectIdAt(T0, 2), event("job-3", 1));
    await vi.advanceTimersByTimeAsync(100);
    expect(heard.slice(3).sort()).toEqual(["job-2:1", "job-3:1"]);
    notifier.close();
  });

  it("gives up a hung poll, so later polls still wake subscribers", async () => {
    const notifier = notifierWith();
    const heard = listen(notifier);
    notifier.start();
    await vi.advanceTimersByTimeAsync(100);
    events.hang = new Promise<never>(() => {});
    await vi.advanceTimersByTimeAsync(300);
    events.hang = undefined;
    events.insert(objectIdAt(T0, 1), event("job-1", 1));
    await vi.advanceTimersByTimeAsync(2_000);
    expect(heard).toEqual(["job-1:1"]);
    notifier.close();
  });

  it("holds no listener once watches that ended by themselves are gone", async () => {
    const notifier = notifierWith({ pollMs: 0 });
    const stage: Stage = "shipped";
    const jobs = {
      get: async () => ({ stage, eventSeq: 2 }),
      events: async (_p: string, jobId: string, afterSeq: number) => ({
        items: [event(jobId, 1), event(jobId, 2)].filter((e) => e.seq > afterSeq),
      }),
    };
    const options = { recheckMs: 5_000, gapWaitMs: 1_000, gapRecheckMs: 50, watchPageSize: 500 };
    for (let i = 0; i < 50; i++) {
      const seen = [];
      // no signal that ever aborts, as tRPC leaves it for a subscription that completed
      for await (const item of watchJob({ jobs, notifier, options }, { productId: "acme", jobId: `job-${i}` })) {
        seen.push(item);
      }
      expect(seen).toHaveLength(2);
    }
    expect(notifier.listenerCount()).toBe(0);
    // and one still running holds exactly its own
    const running = watchJob(
      { jobs: { ...jobs, get: async () => ({ stage: "building" as Stage, eventSeq: 2 }) }, notifier, options },
      { productId: "acme", jobId: "job-x" },
    );
    await running.next();
    expect(notifier.listenerCount()).toBe(1);
    await running.return(undefined);
    expect(notifier.listenerCount()).toBe(0);
  });
});
