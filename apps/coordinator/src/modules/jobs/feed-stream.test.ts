import type { JobEvent } from "@gigafactory/schema";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FakeEvents, objectIdAt } from "../../testing/fake-events.js";
import { FakeNotifier } from "../../testing/fake-notifier.js";
import { stepper } from "../../testing/stream-steps.js";
import { feedItemOf, feedReader, productFeed } from "./feed-stream.js";

const options = { recheckMs: 5_000, feedPageSize: 2, lookBackMs: 2_000 };
const T0 = 1_800_000_000;
const at = new Date("2026-01-02T03:04:05Z");
const event = (jobId: string, seq: number, type: JobEvent["type"], data: JobEvent["data"] = {}): JobEvent => ({
  productId: "acme",
  jobId,
  seq,
  epoch: 0,
  type,
  at,
  data,
});

let notifier: FakeNotifier;
let events: FakeEvents;
let counter = 0;
beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
  notifier = new FakeNotifier();
  events = new FakeEvents();
  counter = 0;
});
afterEach(() => {
  vi.useRealTimers();
});

/** Writes an event (at ObjectId second `second`) and announces it, as an append does. */
function write(e: JobEvent, opts: { second?: number; quietly?: boolean } = {}) {
  const doc = events.insert(objectIdAt(opts.second ?? T0, ++counter), e);
  if (!opts.quietly) notifier.publish(e);
  return doc._id.toHexString();
}

function feed(args: { signal?: AbortSignal; lastEventId?: string } = {}) {
  return stepper(
    productFeed({ events: feedReader(events, 1_000), notifier, options }, { productId: "acme", ...args }),
    ([id, item]) => ({ id, item }),
  );
}

describe("productFeed", () => {
  it("sends each new event of the product as a feed line, tracked by the event's _id", async () => {
    write(event("job-0", 1, "created"));
    const stream = feed();
    const first = await stream.waiting(1_000);
    const id = write(event("job-1", 2, "stage", { stage: "testing" }));
    expect(await first.settle(0)).toEqual({
      id,
      item: { jobId: "job-1", seq: 2, type: "stage", at, stage: "testing" },
    });
    const next = write(event("job-2", 1, "log", { text: "hi" }));
    expect(await stream.next()).toEqual({ id: next, item: { jobId: "job-2", seq: 1, type: "log", at } });
  });

  it("sends nothing for another product's events or a drain, and keeps listening through quiet spells", async () => {
    const stream = feed();
    const pending = await stream.waiting(options.recheckMs * 3);
    write({ ...event("job-9", 1, "created"), productId: "other" });
    notifier.drain("acme", "factory-1");
    await vi.advanceTimersByTimeAsync(options.recheckMs);
    write(event("job-1", 1, "created"));
    expect(await pending.settle(0)).toMatchObject({ item: { jobId: "job-1", seq: 1 } });
  });

  it("resumes after its last id: what was written meanwhile comes first, nothing twice", async () => {
    const stream = feed();
    const pending = await stream.waiting(10);
    const ids = [write(event("job-1", 1, "created"))];
    expect(await pending.settle(0)).toMatchObject({ id: ids[0] });
    // the subscriber is gone; five more are written (more than a page)
    for (let seq = 2; seq <= 6; seq++) ids.push(write(event("job-1", seq, "log"), { second: T0 + seq }));
    const resumed = feed({ lastEventId: ids[0] });
    const got = [];
    for (let i = 0; i < 5; i++) got.push(await resumed.next());
    expect(got.map((line) => (typeof line === "string" ? line : line.id))).toEqual(ids.slice(1));
    await resumed.waiting(options.recheckMs * 2);
  });

  it("sends an event that lands late below the newest _id read, after a full page too", async () => {
    const stream = feed();
    const pending = await stream.waiting(10);
    write(event("job-1", 1, "log"), { second: T0 + 1 });
    write(event("job-1", 2, "log"), { second: T0 + 1 });
    write(event("job-1", 3, "log"), { second: T0 + 1 });
    expect(await pending.settle(0)).toMatchObject({ item: { seq: 1 } });
    for (let seq = 2; seq <= 3; seq++) expect(await stream.next()).toMatchObject({ item: { seq } });
    // another coordinator's insert, its ObjectId a second older than the newest read (clocks apart)
    write(event("job-2", 1, "log"), { second: T0 });
    expect(await stream.next()).toMatchObject({ item: { jobId: "job-2", seq: 1 } });
    await stream.waiting(options.recheckMs * 2);
  });

  it("reads the database again after `recheckMs` when a wake-up was lost", async () => {
    const stream = feed();
    const pending = await stream.waiting(10);
    write(event("job-1", 1, "log"), { quietly: true });
    await pending.still(options.recheckMs / 2);
    expect(await pending.settle(options.recheckMs)).toMatchObject({ item: { jobId: "job-1", seq: 1 } });
  });

  it("ends when its signal aborts, and drops its subscription", async () => {
    const abort = new AbortController();
    const stream = feed({ signal: abort.signal });
    const pending = await stream.waiting(1_000);
    expect(notifier.listeners("product:acme")).toBe(1);
    abort.abort();
    expect(await pending.settle(0)).toBe("end");
    expect(notifier.listeners("product:acme")).toBe(0);
  });
});

describe("feedItemOf", () => {
  it("names the stage only when a lifecycle event's data names a stage", () => {
    expect(feedItemOf(event("job-1", 3, "completed", { stage: "shipped" })).stage).toBe("shipped");
    expect(feedItemOf(event("job-1", 3, "completed", { stage: 7 }))).not.toHaveProperty("stage");
    expect(feedItemOf(event("job-1", 3, "stage", { stage: "nowhere" }))).not.toHaveProperty("stage");
    expect(feedItemOf(event("job-1", 3, "log", { text: "x" }))).not.toHaveProperty("stage");
  });

  it("never takes the stage from a factory's own events, whatever their data says", () => {
    for (const type of ["log", "message", "tool_use", "checkpoint", "verify", "artifact", "insights"] as const) {
      expect(feedItemOf(event("job-1", 3, type, { stage: "shipped" }))).not.toHaveProperty("stage");
    }
  });
});
