import type { Factory, FactoryState, JobEvent } from "@gigafactory/schema";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { NotFoundError } from "../../errors.js";
import { FakeNotifier } from "../../testing/fake-notifier.js";
import { stepper } from "../../testing/stream-steps.js";
import { connectFactory } from "./connect-stream.js";
import { NudgeRouter } from "./nudge-router.js";

const options = { idleNudgeMs: 15_000, nudgeFanout: 2, nudgeRetryMs: 1_000, nudgeRounds: 4 };
const productId = "acme";
const factoryId = "factory-1";

function registered(state: FactoryState = "active"): Factory {
  const now = new Date("2026-01-02T03:04:05Z");
  return {
    _id: `${productId}:${factoryId}`,
    productId,
    factoryId,
    descriptor: { host: "build-01", pid: 1, os: "linux", version: "0.1.0" },
    capabilities: ["os:linux"],
    engines: ["shell"],
    seatLimit: 2,
    load: { running: 0, jobIds: [] },
    health: { ok: true },
    state,
    registeredAt: now,
    lastHeartbeatAt: now,
  };
}

let seq = 0;
const event = (type: JobEvent["type"], data: JobEvent["data"] = {}, jobId = "job-1"): JobEvent => ({
  productId,
  jobId,
  seq: ++seq,
  epoch: 1,
  type,
  at: new Date(),
  data,
});

let notifier: FakeNotifier;
let nudges: NudgeRouter;
let factory: Factory | null;
/** The idle nudge's jitter draw: 0.5 makes it exactly `idleNudgeMs`. */
let draw = 0.5;
beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
  notifier = new FakeNotifier();
  nudges = new NudgeRouter({ notifier, send: (product, ids) => notifier.nudge(product, ids), options });
  draw = 0.5;
  factory = registered();
});
afterEach(() => {
  vi.useRealTimers();
});

function connect(signal?: AbortSignal) {
  const factories = {
    find: async (product: string, id: string) => (product === productId && id === factoryId ? factory : null),
  };
  const deps = { factories, notifier, nudges, options, random: () => draw };
  return stepper(connectFactory(deps, { productId, factoryId, signal }), (m) => m);
}

/** A connected factory past its greeting. */
async function connected(signal?: AbortSignal) {
  const stream = connect(signal);
  expect(await stream.next()).toEqual({ type: "work" });
  return stream;
}

describe("connectFactory", () => {
  it("greets with one `work` nudge, so a factory claims what is already waiting", async () => {
    const stream = connect();
    expect(await stream.next()).toEqual({ type: "work" });
    // its own channel, and the nudge router's one subscription for the whole product
    expect(notifier.listeners(`factory:${productId}:${factoryId}`)).toBe(1);
    expect(notifier.listeners(`product:${productId}`)).toBe(1);
  });

  it("tells a factory that connects while draining at once, then still greets it", async () => {
    factory = registered("draining");
    const stream = connect();
    expect([await stream.next(), await stream.next()]).toEqual([{ type: "drain" }, { type: "work" }]);
  });

  it("nudges for new work this factory can run, and not for work it cannot", async () => {
    const stream = await connected();
    const pending = await stream.waiting(1_000);
    notifier.publish(event("created", { engine: "codex", capabilities: [] }));
    notifier.publish(event("created", { engine: "shell", capabilities: ["gpu"] }));
    await vi.advanceTimersByTimeAsync(options.idleNudgeMs - 1_001);
    notifier.publish(event("created", { engine: "shell", capabilities: ["os:linux"] }));
    expect(await pending.settle(0)).toEqual({ type: "work" });
  });

  it("sends nothing for work events it cannot run until the idle nudge is due", async () => {
    const stream = await connected();
    const pending = await stream.waiting(1_000);
    notifier.publish(event("created", { engine: "codex", capabilities: [] }));
    // the idle period counts from the last nudge, so events that are not for it do not put it off
    await pending.still(options.idleNudgeMs - 1_001);
    expect(await pending.settle(1)).toEqual({ type: "work" });
  });

  it("jitters the idle nudge between half and one and a half idle periods", async () => {
    draw = 0;
    const early = await connected();
    expect(await early.next(options.idleNudgeMs / 2)).toEqual({ type: "work" });
    draw = 0.999;
    const late = await connect();
    expect(await late.next()).toEqual({ type: "work" });
    const pending = await late.waiting(options.idleNudgeMs * 1.4);
    expect(await pending.settle(options.idleNudgeMs * 0.1)).toEqual({ type: "work" });
  });

  it("completions nudge nobody when nothing is waiting (the completing factory claims by itself)", async () => {
    const stream = await connected();
    const pending = await stream.waiting(1_000);
    notifier.publish(event("completed", {}, "job-9"));
    notifier.publish(event("failed", {}, "job-8"));
    await pending.still(options.idleNudgeMs - 1_001);
    expect(await pending.settle(1)).toEqual({ type: "work" });
  });

  it("nudges for work events that name no engine (a requeue, a release, a lost lease)", async () => {
    const stream = await connected();
    const pending = await stream.waiting(1_000);
    notifier.publish(event("requeued", { reason: "lock taken" }));
    expect(await pending.settle(0)).toEqual({ type: "work" });
  });

  it("sends nothing for events that are not work, such as logs", async () => {
    const stream = await connected();
    const pending = await stream.waiting(1_000);
    notifier.publish(event("log", { engine: "shell", capabilities: [] }));
    await pending.still(options.idleNudgeMs - 1_001);
    expect(await pending.settle(1)).toEqual({ type: "work" });
  });

  it("nudges after a quiet spell of idleNudgeMs, as a fallback", async () => {
    const stream = await connected();
    const pending = await stream.waiting(options.idleNudgeMs - 1);
    expect(await pending.settle(1)).toEqual({ type: "work" });
  });

  it("passes on a cancel for a job this factory holds, and not one for another factory's", async () => {
    const stream = await connected();
    const pending = await stream.waiting(1_000);
    notifier.publish(event("cancel_requested", { factoryId: "factory-2", epoch: 3 }, "job-2"));
    notifier.publish(event("cancel_requested", { factoryId, epoch: 4 }, "job-7"));
    expect(await pending.settle(0)).toEqual({ type: "cancel", jobId: "job-7", epoch: 4 });
  });

  it("passes on a drain of this factory, and not of another", async () => {
    const stream = await connected();
    const pending = await stream.waiting(1_000);
    notifier.drain(productId, "factory-2");
    notifier.drain(productId, factoryId);
    expect(await pending.settle(0)).toEqual({ type: "drain" });
  });

  it("fails with NOT_FOUND for an unregistered factory, and drops its subscription", async () => {
    factory = null;
    const stream = connectFactory(
      { factories: { find: async () => null }, notifier, nudges, options },
      { productId, factoryId, signal: undefined },
    );
    await expect(stream.next()).rejects.toBeInstanceOf(NotFoundError);
    await vi.advanceTimersByTimeAsync(options.nudgeRetryMs);
    expect(notifier.listeners(`product:${productId}`)).toBe(0);
    expect(notifier.listeners(`factory:${productId}:${factoryId}`)).toBe(0);
  });

  it("ends when its signal aborts, and drops its subscription", async () => {
    const abort = new AbortController();
    const stream = await connected(abort.signal);
    const pending = await stream.waiting(1_000);
    abort.abort();
    expect(await pending.settle(0)).toBe("end");
    // the router's own subscription ends with the product's last connection
    await vi.advanceTimersByTimeAsync(options.nudgeRetryMs);
    expect(notifier.listeners(`product:${productId}`)).toBe(0);
    expect(notifier.listeners(`factory:${productId}:${factoryId}`)).toBe(0);
  });
});
