import type { FactoryMessage } from "@gigafactory/schema";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestClient, codeOf, rejection } from "./support/client.js";
import { Collector } from "./support/collector.js";
import { Harness, createJob, poll, registerFactory } from "./support/harness.js";

describe("factories: heartbeats, gone, drain", () => {
  let h: Harness;
  let service: TestClient;
  let factory: TestClient;
  beforeAll(async () => {
    // the reaper sweeps every leaseTtl/4 = 250ms; a factory is gone 3s after its last heartbeat
    h = await Harness.start("factories", {
      env: { GF_LEASE_TTL: "1s", GF_FACTORY_GONE_AFTER: "3s", GF_HEARTBEAT_INTERVAL: "100ms" },
    });
    service = await h.as("service");
    factory = await h.as("factory");
  });
  afterAll(() => h?.close());

  const stateOf = async (factoryId: string) =>
    (await h.admin.trpc.admin.factories.query({})).find((f) => f.factoryId === factoryId)?.state;

  it("register returns the coordinator's timings; re-registering keeps one document", async () => {
    const {
      leaseTtlMs,
      heartbeatMs,
      factory: registered,
    } = await factory.trpc.factory.register.mutate({
      factoryId: "f-timings",
      descriptor: { host: "h1", pid: 42, os: "linux", arch: "x64", version: "1.2.3" },
      capabilities: ["gpu"],
      engines: ["shell"],
      seatLimit: 4,
    });
    expect({ leaseTtlMs, heartbeatMs }).toEqual({ leaseTtlMs: 1_000, heartbeatMs: 100 });
    expect(registered).toMatchObject({ factoryId: "f-timings", state: "active", seatLimit: 4, capabilities: ["gpu"] });
    await registerFactory(factory, { factoryId: "f-timings", seatLimit: 2 });
    const stored = await h.db.collection("factories").find({ factoryId: "f-timings" }).toArray();
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ seatLimit: 2, registeredAt: registered.registeredAt });
  });

  it("a factory that stops heartbeating is gone, gets no work, and comes back with its next heartbeat", {
    timeout: 60_000,
  }, async () => {
    const silent = await registerFactory(factory, { capabilities: ["gone-test"] });
    const alive = await registerFactory(factory, { capabilities: ["gone-test"] });
    let beating = true;
    // the live one heartbeats every 100ms, a thirtieth of the gone-after period
    const heart = (async () => {
      for (let i = 0; i < 1_000 && beating; i++) {
        await factory.trpc.factory.heartbeat.mutate({
          factoryId: alive,
          load: { running: 0, jobIds: [] },
          health: { ok: true },
        });
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    try {
      await poll(async () => (await stateOf(silent)) === "gone", { tries: 300, what: `${silent} to be marked gone` });
      expect(await stateOf(alive)).toBe("active");
      await createJob(service, { capabilities: ["gone-test"] });
      expect((await factory.trpc.factory.claim.mutate({ factoryId: silent })).jobs).toEqual([]);

      const { state } = await factory.trpc.factory.heartbeat.mutate({
        factoryId: silent,
        load: { running: 0, jobIds: [] },
        health: { ok: true },
      });
      expect(state).toBe("active");
      expect(await stateOf(silent)).toBe("active");
      expect((await factory.trpc.factory.claim.mutate({ factoryId: silent })).jobs).toHaveLength(1);
    } finally {
      beating = false;
      await heart;
    }
  });

  it("drain: the factory's connect hears `drain`, it gets no new work, and a heartbeat keeps it draining", {
    timeout: 60_000,
  }, async () => {
    const f = await registerFactory(factory, { capabilities: ["drain-test"] });
    {
      using connect = new Collector<FactoryMessage>((handlers) =>
        factory.trpc.factory.connect.subscribe({ factoryId: f }, handlers),
      );
      await connect.until((messages) => messages.length > 0, "the first nudge");
      await createJob(service, { capabilities: ["drain-test"] });
      const drained = await h.admin.trpc.admin.drain.mutate({ factoryId: f });
      expect(drained.state).toBe("draining");
      await connect.until((messages) => messages.some((m) => m.type === "drain"), "the drain message");

      expect((await factory.trpc.factory.claim.mutate({ factoryId: f })).jobs).toEqual([]);
      const { state } = await factory.trpc.factory.heartbeat.mutate({
        factoryId: f,
        load: { running: 0, jobIds: [] },
        health: { ok: true },
      });
      expect(state).toBe("draining");
    }
    // a connection opened while draining is told at once
    {
      using late = new Collector<FactoryMessage>((handlers) =>
        factory.trpc.factory.connect.subscribe({ factoryId: f }, handlers),
      );
      await late.until((messages) => messages.length > 0, "the greeting of a draining factory");
      expect(late.items[0]).toEqual({ type: "drain" });
    }
    // re-registering (a restarted daemon) makes it active again
    await registerFactory(factory, { factoryId: f, capabilities: ["drain-test"] });
    expect((await factory.trpc.factory.claim.mutate({ factoryId: f })).jobs).toHaveLength(1);
  });

  it("drain and heartbeat of an unknown factory are NOT_FOUND", async () => {
    expect(codeOf(await rejection(h.admin.trpc.admin.drain.mutate({ factoryId: "nobody" }))).code).toBe("NOT_FOUND");
    expect(
      codeOf(
        await rejection(
          factory.trpc.factory.heartbeat.mutate({
            factoryId: "nobody",
            load: { running: 0, jobIds: [] },
            health: { ok: true },
          }),
        ),
      ).code,
    ).toBe("NOT_FOUND");
  });
});
