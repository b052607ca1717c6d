import type { JobEvent, RunOffer } from "@gigafactory/schema";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FakeNotifier } from "../../testing/fake-notifier.js";
import { NudgeRouter, type NudgeTarget } from "./nudge-router.js";

const productId = "acme";
const options = { nudgeFanout: 2, nudgeRetryMs: 1_000, nudgeRounds: 4 };
const linux: RunOffer = { state: "active", engines: ["shell"], capabilities: ["os:linux"] };
const gpu: RunOffer = { state: "active", engines: ["shell"], capabilities: ["os:linux", "gpu"] };

let seq = 0;
const event = (type: JobEvent["type"], jobId: string, data: JobEvent["data"] = {}): JobEvent => ({
  productId,
  jobId,
  seq: ++seq,
  epoch: 1,
  type,
  at: new Date(),
  data,
});
const created = (jobId: string, capabilities = ["os:linux"]) =>
  event("created", jobId, { engine: "shell", capabilities });

let notifier: FakeNotifier;
let sent: string[][];
let router: NudgeRouter;
let leaves: (() => void)[];

function join(...offers: RunOffer[]): NudgeTarget[] {
  return offers.map((offer, i) => {
    const target = { factoryId: `f${i}`, offer };
    leaves.push(router.join(productId, target));
    return target;
  });
}

/** Lets the router's loop see what was published (and `ms` of fake time pass); returns what it sent. */
async function settle(ms = 0): Promise<string[][]> {
  await vi.advanceTimersByTimeAsync(ms);
  const out = sent;
  sent = [];
  return out;
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
  notifier = new FakeNotifier();
  sent = [];
  leaves = [];
  router = new NudgeRouter({ notifier, send: (_product, ids) => sent.push(ids), options });
});
afterEach(() => {
  for (const leave of leaves) leave();
  vi.useRealTimers();
});

describe("NudgeRouter", () => {
  it("nudges `nudgeFanout` capable factories per created job, taking turns", async () => {
    join(linux, linux, linux, linux, linux);
    notifier.publish(created("job-1"));
    expect(await settle()).toEqual([["f0", "f1"]]);
    notifier.publish(created("job-2"));
    expect(await settle()).toEqual([["f2", "f3"]]);
    notifier.publish(created("job-3"));
    expect(await settle()).toEqual([["f4", "f0"]]);
  });

  it("nudges only factories that can run the job", async () => {
    join(linux, gpu, linux, gpu);
    notifier.publish(created("job-1", ["gpu"]));
    expect(await settle()).toEqual([["f1", "f3"]]);
    notifier.publish(event("created", "job-2", { engine: "codex", capabilities: [] }));
    expect(await settle()).toEqual([]);
  });

  it("nudges the next factories while a job stays unclaimed, then parks it", async () => {
    join(linux, linux, linux, linux, linux);
    notifier.publish(created("job-1"));
    expect(await settle()).toEqual([["f0", "f1"]]);
    expect(await settle(options.nudgeRetryMs)).toEqual([["f2", "f3"]]);
    expect(await settle(options.nudgeRetryMs)).toEqual([["f4", "f0"]]);
    // every capable factory has been told: nothing more until something frees a seat or a lock
    expect(await settle(options.nudgeRetryMs * 3)).toEqual([]);
    expect(router.tracked).toBe(1);
    notifier.publish(event("completed", "job-0"));
    expect(await settle()).toEqual([["f1", "f2"]]);
  });

  it("parks a job after `nudgeRounds` rounds however many factories could run it", async () => {
    join(...Array.from({ length: 20 }, () => linux));
    notifier.publish(created("job-1"));
    expect(await settle()).toEqual([["f0", "f1"]]);
    for (let round = 1; round < options.nudgeRounds; round++)
      expect(await settle(options.nudgeRetryMs)).toHaveLength(1);
    expect(await settle(options.nudgeRetryMs * 3)).toEqual([]);
    // a completion nudges for it once more, then it is parked again
    notifier.publish(event("completed", "job-0"));
    expect(await settle()).toEqual([["f8", "f9"]]);
    expect(await settle(options.nudgeRetryMs * 3)).toEqual([]);
    expect(router.tracked).toBe(1);
  });

  it("stops nudging once the job is claimed", async () => {
    join(linux, linux, linux, linux);
    notifier.publish(created("job-1"));
    expect(await settle()).toEqual([["f0", "f1"]]);
    notifier.publish(event("claimed", "job-1"));
    expect(await settle(options.nudgeRetryMs * 3)).toEqual([]);
    expect(router.tracked).toBe(0);
  });

  it("nudges a requeued job's factories by the needs its creation named", async () => {
    join(linux, gpu, linux);
    notifier.publish(created("job-1", ["gpu"]));
    notifier.publish(event("claimed", "job-1"));
    expect(await settle()).toEqual([["f1"]]);
    notifier.publish(event("requeued", "job-1", { reason: "lock taken" }));
    expect(await settle()).toEqual([["f1"]]);
    // a job it never saw created may need anything: any factory may claim it
    notifier.publish(event("released", "job-x"));
    expect((await settle())[0]).toHaveLength(2);
  });

  it("nudges nobody for a completion when nothing is waiting", async () => {
    join(linux, linux, linux);
    notifier.publish(event("completed", "job-1"));
    notifier.publish(event("failed", "job-2"));
    notifier.publish(event("cancelled", "job-3"));
    expect(await settle(options.nudgeRetryMs * 2)).toEqual([]);
  });

  it("lets go of its subscription when a product's last connection leaves", async () => {
    join(linux, linux);
    expect(notifier.listeners(`product:${productId}`)).toBe(1);
    for (const leave of leaves.splice(0)) leave();
    await settle(options.nudgeRetryMs);
    expect(notifier.listeners(`product:${productId}`)).toBe(0);
  });
});
