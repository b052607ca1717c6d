import { readFile } from "node:fs/promises";
import { DEFAULT_TIMINGS } from "../src/options.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { type TestClient, codeOf } from "./support/client.js";
import type { ClientError } from "./support/client.js";
import { Harness, claimOne, createJob, fenceOf, poll, registerFactory } from "./support/harness.js";

const MiB = 1024 * 1024;

/** The coordinator's resident memory, from /proc (bytes). */
async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  if (!kb) throw new Error("no VmRSS");
  return Number(kb) * 1024;
}

/** A raw WebSocket to the coordinator, as tRPC's client opens it (params in the first message). */
function rawSocket(url: string): { socket: WebSocket; closed: Promise<number>; opened: Promise<void> } {
  const socket = new WebSocket(`${url.replace(/^http/, "ws")}/?connectionParams=1`);
  socket.on("error", () => {}); // a reset after the server closes is expected
  const closed = new Promise<number>((resolve) => socket.once("close", (code) => resolve(code)));
  const opened = new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("close", () => reject(new Error("closed before it opened")));
  });
  return { socket, closed, opened };
}

describe("transport limits", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.start("transport-limits");
  });
  afterAll(() => h?.close());

  it("closes a WebSocket that sends a 60 MiB message, without buffering it", { timeout: 120_000 }, async () => {
    const pid = h.coordinator.process.pid as number;
    const before = await rssOf(pid);
    const { socket, closed, opened } = rawSocket(h.url);
    await opened;
    socket.send(Buffer.alloc(60 * MiB, 0x61));
    const code = await closed;
    expect(code).toBe(1009); // message too big
    const after = await rssOf(pid);
    expect(after - before).toBeLessThan(60 * MiB);
    expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
  });

  it("closes a WebSocket that never authenticates, and one with a bad token; keeps a good one", {
    timeout: 120_000,
  }, async () => {
    const silent = rawSocket(h.url);
    const bad = rawSocket(h.url);
    const good = rawSocket(h.url);
    await Promise.all([silent.opened, bad.opened, good.opened]);
    bad.socket.send(JSON.stringify({ method: "connectionParams", data: { token: "gf_not_a_token" } }));
    good.socket.send(JSON.stringify({ method: "connectionParams", data: { token: await h.token("service") } }));
    expect(await silent.closed).toBe(4401);
    expect(await bad.closed).toBe(4401);
    // the deadline has passed for the good one too (opened at the same time): it stays open
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(good.socket.readyState).toBe(WebSocket.OPEN);
    good.socket.close();
  });

  it("refuses a WebSocket with a token in its URL", async () => {
    const token = await h.token("service");
    const socket = new WebSocket(`${h.url.replace(/^http/, "ws")}/?connectionParams=1&token=${token}`);
    const status = await new Promise<number | undefined>((resolve) => {
      socket.once("unexpected-response", (_req, res) => resolve(res.statusCode));
      socket.once("open", () => resolve(undefined));
      socket.once("error", () => resolve(-1));
    });
    socket.terminate();
    expect(status).toBe(401);
  });

  it("refuses a subscription over the per-connection cap", { timeout: 120_000 }, async () => {
    const max = DEFAULT_TIMINGS.limits.wsMaxSubscriptions;
    const client: TestClient = await h.as("service");
    const errors: unknown[] = [];
    const subscriptions = Array.from({ length: max + 1 }, () =>
      client.trpc.jobs.feed.subscribe({}, { onError: (error) => errors.push(error), onData: () => {} }),
    );
    const [error] = await poll(async () => errors.length > 0 && errors, { what: "a refused subscription" });
    if (errors.length > 1) throw errors[0];
    expect(errors).toHaveLength(1);
    expect(codeOf(error as ClientError).code).toBe("TOO_MANY_REQUESTS");
    expect((error as Error).message).toMatch(/at most 100 subscriptions/);
    // one stopped frees a place
    subscriptions[0]?.unsubscribe();
    const more: unknown[] = [];
    let opened = false;
    const extra = client.trpc.jobs.feed.subscribe(
      {},
      { onStarted: () => (opened = true), onError: (e) => more.push(e), onData: () => {} },
    );
    await poll(async () => opened || more.length > 0, { what: "the next subscription to start" });
    expect(more).toEqual([]);
    extra.unsubscribe();
    for (const subscription of subscriptions) subscription.unsubscribe();
  });

  it("refuses an HTTP batch over the cap with 400; a batch of 50 works", async () => {
    const token = await h.token("service");
    const batch = (n: number, withInput = true) => {
      const input = JSON.stringify(Object.fromEntries(Array.from({ length: n }, (_, i) => [i, { json: {} }])));
      const paths = Array.from({ length: n }, () => "jobs.list").join(",");
      return fetch(`${h.url}/${paths}?batch=1${withInput ? `&input=${encodeURIComponent(input)}` : ""}`, {
        headers: { authorization: `Bearer ${token}` },
      });
    };
    const refused = await batch(1_000, false);
    expect(refused.status).toBe(400);
    expect(JSON.stringify(await refused.json())).toMatch(/Batch call exceeds maximum size/);
    const fine = await batch(50);
    expect(fine.status).toBe(200);
    expect(((await fine.json()) as unknown[]).length).toBe(50);
  });

  it("cuts a slow consumer: a feed socket that stops reading is closed, and memory stays bounded", {
    timeout: 180_000,
  }, async () => {
    const pid = h.coordinator.process.pid as number;
    const service = await h.as("service");
    const factory = await h.as("factory");
    const factoryId = await registerFactory(factory);
    await createJob(service);
    const fence = fenceOf(await claimOne(factory, factoryId), factoryId);

    // 50 feed subscriptions on one socket: each event is sent 50 times
    const SUBSCRIPTIONS = 50;
    const { socket, closed, opened } = rawSocket(h.url);
    let isClosed = false;
    void closed.then(() => (isClosed = true));
    await opened;
    let started = 0;
    socket.on("message", (raw) => {
      if (String(raw).includes('"type":"started"')) started++;
    });
    socket.send(JSON.stringify({ method: "connectionParams", data: { token: service.token } }));
    for (let id = 1; id <= SUBSCRIPTIONS; id++)
      socket.send(JSON.stringify({ id, method: "subscription", params: { path: "jobs.feed", input: { json: {} } } }));
    await poll(async () => started === SUBSCRIPTIONS, { what: "the feed subscriptions to start", tries: 600 });
    // stop reading: what the server sends piles up in its queue for this socket
    const tcp = (socket as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    tcp.pause();

    const before = await rssOf(pid);
    let peak = before;
    const line = "x".repeat(200);
    // 8 batches of 500 events: 200k feed messages of ~250 bytes, far past the 8 MiB queue limit
    for (let batch = 0; batch < 8; batch++) {
      await factory.trpc.factory.appendEvents.mutate({
        ...fence,
        events: Array.from({ length: 500 }, () => ({ type: "log" as const, data: { line } })),
      });
      peak = Math.max(peak, await rssOf(pid));
    }
    // a paused socket sees no FIN: read again, through what was sent before the cut, to its end
    tcp.resume();
    await poll(async () => isClosed, { what: "the slow consumer to be cut", tries: 600, everyMs: 100 });
    expect(await closed).toBe(1006); // terminated: no close frame behind the queue
    peak = Math.max(peak, await rssOf(pid));
    expect(peak - before).toBeLessThan(256 * MiB);
    // the coordinator serves on
    expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
  });
});
