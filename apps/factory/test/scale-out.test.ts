import { type SpawnedCoordinator, spawnCoordinator } from "@gigafactory/coordinator/testing";
import { databaseNameFor } from "@gigafactory/devdb";
import type { JobEvent } from "@gigafactory/schema";
import { createGigafactoryClient, type GigafactoryClient } from "@gigafactory/sdk";
import { afterEach, describe, expect, inject, it } from "vitest";
import { startFactory, stopAllFactories } from "./support/factory-process.js";
import { freePorts, type NginxProcess, startNginx } from "./support/nginx.js";
import { Scratch } from "./support/temp.js";
import { allEvents, runsOf, waitFor, waitForOutcome } from "./support/wait.js";

const scratch = new Scratch();
afterEach(async () => {
  await stopAllFactories();
  await scratch.clean();
});

/** A `jobs.watch` subscription's items as they arrive (the tracked id and the event). */
function watchJob(client: GigafactoryClient, jobId: string) {
  const state = { items: [] as Array<{ id: string; data: JobEvent }>, errors: [] as unknown[], completed: false };
  const subscription = client.trpc.jobs.watch.subscribe(
    { jobId },
    {
      onData: (item) => state.items.push(item as { id: string; data: JobEvent }),
      onError: (error) => state.errors.push(error),
      onComplete: () => {
        state.completed = true;
      },
    },
  );
  return { state, stop: () => subscription.unsubscribe() };
}

describe("several coordinators behind nginx", () => {
  it("jobs ship once and a subscriber keeps receiving when the coordinator holding every WebSocket dies", {
    timeout: 240_000,
  }, async () => {
    const mongoUrl = inject("mongoUrl");
    const dbName = databaseNameFor("factory-scale-out");
    // one data dir for all three: the shared admin token and blob directory of a real deployment
    const dataDir = scratch.dir("scale-out-data").path;
    const env = { GF_LEASE_TTL: "30s", GF_HEARTBEAT_INTERVAL: "1s", GF_NOTIFIER_POLL: "100ms" };
    const ports = await freePorts(3);
    const coordinators: SpawnedCoordinator[] = [];
    const start = async (port: number) => {
      const coordinator = await spawnCoordinator({ mongoUrl, dbName, dataDir, env: { ...env, GF_PORT: String(port) } });
      coordinators.push(coordinator);
      return coordinator;
    };
    scratch.defer(() => Promise.all(coordinators.map((coordinator) => coordinator.stop())).then(() => undefined));

    // only A runs at first: every WebSocket opened through nginx now (factories' connect, the
    // subscriber) lands on A, which is the one killed below
    const a = await start(ports[0] as number);
    const nginx: NginxProcess = await startNginx({ dir: scratch.dir("nginx").path, upstreamPorts: ports });
    scratch.defer(() => nginx.stop());

    // from here on nothing talks to a coordinator directly
    const admin = createGigafactoryClient({ url: nginx.url, token: a.adminToken });
    const { token: serviceToken } = await admin.trpc.admin.createToken.mutate({ role: "service", name: "scale-out" });
    const { token: factoryToken } = await admin.trpc.admin.createToken.mutate({ role: "factory", name: "scale-out" });
    await admin.close();
    const service = createGigafactoryClient({ url: nginx.url, token: serviceToken });
    scratch.defer(() => service.close());
    const through = { url: nginx.url, factoryToken };
    const factories = await Promise.all(
      ["nginx-f1", "nginx-f2"].map((factoryId) => startFactory(through, { factoryId, seats: 2, heartbeat: "1s" })),
    );
    const tails = () => `${factories.map((factory) => factory.tail(30)).join("\n---\n")}\n--- nginx\n${nginx.errors()}`;

    // a long job whose lines span the kill, watched through nginx, and a stream of short jobs
    const TICKS = 60;
    const { job: long } = await service.trpc.jobs.create.mutate({
      title: "spans the kill",
      engine: "shell",
      bodyMd: `for i in $(seq 1 ${TICKS}); do echo "tick $i"; sleep 0.1; done`,
      maxAttempts: 1,
    });
    const watcher = watchJob(service, long._id);
    scratch.defer(() => watcher.stop());
    const short = await Promise.all(
      Array.from({ length: 10 }, (_, n) =>
        service.trpc.jobs.create.mutate({
          title: `short ${n}`,
          engine: "shell",
          bodyMd: `sleep 0.5; echo "short ${n}"`,
          maxAttempts: 1,
        }),
      ),
    );
    const ticksSeen = () =>
      watcher.state.items.filter((item) => item.data.type === "log" && String(item.data.data.line).startsWith("tick "))
        .length;
    await waitFor("the watcher to see the first ticks through nginx", async () => ticksSeen() >= 5, {
      describe: tails,
    });

    // B and C join, then A dies mid-run with every WebSocket on it
    await start(ports[1] as number);
    await start(ports[2] as number);
    const beforeKill = watcher.state.items.length;
    await a.stop("SIGKILL");

    const jobIds = [long._id, ...short.map(({ job }) => job._id)];
    for (const jobId of jobIds)
      await waitForOutcome(service, jobId, "shipped", { timeoutMs: 120_000, describe: tails });

    // every job was claimed once (epoch 1) and completed once. A claim whose coordinator died after
    // it took the lease but before it wrote the `claimed` event and the run leaves a hole the
    // reaper fills with `recovered`, and no run: the job still runs and ships once
    for (const jobId of jobIds) {
      const job = await service.trpc.jobs.get.query({ jobId });
      expect([job.attempt, job.lease.epoch]).toEqual([1, 1]);
      const events = await allEvents(service, jobId);
      expect(events.filter((event) => event.type === "completed")).toHaveLength(1);
      expect(events.filter((event) => event.type === "claimed").length).toBeLessThanOrEqual(1);
      expect(events.every((event) => event.epoch <= 1)).toBe(true);
      const runs = await runsOf(service, jobId);
      expect(runs.length).toBeLessThanOrEqual(1);
      expect(runs.every((run) => run.result === "success")).toBe(true);
    }
    // the long job's claim happened before the kill: its run is on record
    expect((await runsOf(service, long._id)).map((run) => run.result)).toEqual(["success"]);

    // the subscriber reconnected through nginx to B or C and resumed: every stored event once, in order
    await waitFor("the watch to end with the job", async () => watcher.state.completed, { describe: tails });
    expect(watcher.state.errors).toEqual([]);
    expect(watcher.state.items.length).toBeGreaterThan(beforeKill);
    const stored = await allEvents(service, long._id);
    expect(watcher.state.items.map((item) => item.data.seq)).toEqual(stored.map((event) => event.seq));
    expect(watcher.state.items.map((item) => item.id)).toEqual(stored.map((event) => String(event.seq)));
    const ticks = new Set(
      stored
        .filter((event) => event.type === "log" && String(event.data.line).startsWith("tick "))
        .map((event) => String(event.data.line)),
    );
    expect(ticks.size).toBe(TICKS);
  });
});
