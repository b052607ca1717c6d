import type { JobEvent } from "@gigafactory/schema";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FakeNotifier } from "../../testing/fake-notifier.js";
import { stepper } from "../../testing/stream-steps.js";
import { feedItemOf, productFeed } from "./feed-stream.js";

const options = { recheckMs: 5_000 };
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
beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
  notifier = new FakeNotifier();
});
afterEach(() => {
  vi.useRealTimers();
});

function feed(signal?: AbortSignal) {
  return stepper(productFeed({ notifier, options }, { productId: "acme", signal }), ([id, item]) => ({ id, item }));
}

describe("productFeed", () => {
  it("sends each event of the product as a feed line, tracked by job and seq", async () => {
    const stream = feed();
    const first = await stream.waiting(1_000);
    notifier.publish(event("job-1", 2, "stage", { stage: "testing" }));
    expect(await first.settle(0)).toEqual({
      id: "job-1:2",
      item: { jobId: "job-1", seq: 2, type: "stage", at, stage: "testing" },
    });
    notifier.publish(event("job-2", 1, "log", { text: "hi" }));
    expect(await stream.next()).toEqual({ id: "job-2:1", item: { jobId: "job-2", seq: 1, type: "log", at } });
  });

  it("sends nothing for another product's events or a drain, and keeps listening through quiet spells", async () => {
    const stream = feed();
    const pending = await stream.waiting(options.recheckMs * 3);
    notifier.publish({ ...event("job-9", 1, "created"), productId: "other" });
    notifier.drain("acme", "factory-1");
    await vi.advanceTimersByTimeAsync(options.recheckMs);
    notifier.publish(event("job-1", 1, "created"));
    expect(await pending.settle(0)).toMatchObject({ id: "job-1:1" });
  });

  it("ends when its signal aborts, and drops its subscription", async () => {
    const abort = new AbortController();
    const stream = feed(abort.signal);
    const pending = await stream.waiting(1_000);
    expect(notifier.listeners("product:acme")).toBe(1);
    abort.abort();
    expect(await pending.settle(0)).toBe("end");
    expect(notifier.listeners("product:acme")).toBe(0);
  });
});

describe("feedItemOf", () => {
  it("names the stage only when the event's data names one as a string", () => {
    expect(feedItemOf(event("job-1", 3, "completed", { stage: "shipped" })).stage).toBe("shipped");
    expect(feedItemOf(event("job-1", 3, "completed", { stage: 7 }))).not.toHaveProperty("stage");
    expect(feedItemOf(event("job-1", 3, "log", { text: "x" }))).not.toHaveProperty("stage");
  });
});
