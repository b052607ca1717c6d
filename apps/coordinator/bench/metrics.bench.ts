/**
 * What metrics cost: the coordinator's claim throughput with metrics on (`GF_METRICS=true`, the
 * default) vs off, and the time of a `/metrics` scrape (cold: the fleet gauges read MongoDB;
 * warm: within `caches.metricsGaugesMs`, from the cache).
 *
 * One MongoDB (the launcher's choice), two coordinator processes, each on its own database,
 * alternated over ROUNDS rounds so drift on a shared box hits both. Each round seeds JOBS jobs
 * through `jobs.create` and drains them with CLAIMERS factories calling `factory.claim` through tRPC.
 * Ends with exactly `claim_ratio_on_vs_off=… scrape_cold_ms=… scrape_warm_ms=…`.
 * Figures, not thresholds: `pnpm --filter @gigafactory/coordinator bench:metrics`.
 */
import { performance } from "node:perf_hooks";
import { databaseNameFor, mongoOptionsFromEnv, startMongo } from "@gigafactory/devdb";
import { type SpawnedCoordinator, spawnCoordinator } from "@gigafactory/coordinator/testing";
import { createClient } from "../test/support/client.js";

const JOBS = 200;
const CLAIMERS = 8;
const ROUNDS = 3;
const SCRAPES = 20;

const mongo = await startMongo(mongoOptionsFromEnv());
const started: SpawnedCoordinator[] = [];
const clients: Array<{ close(): Promise<void> }> = [];

try {
  process.stdout.write(`mongo: ${mongo.describe()}\n`);
  const fleets = [];
  for (const metrics of ["true", "false"]) {
    const coordinator = await spawnCoordinator({
      mongoUrl: mongo.url,
      dbName: databaseNameFor(`bench-metrics-${metrics}`),
      env: { GF_LEASE_TTL: "1h", GF_LOG_LEVEL: "warn", GF_METRICS: metrics, GF_RATE_LIMIT: "100000" },
    });
    started.push(coordinator);
    const client = (token: string) => {
      const made = createClient({ url: coordinator.url, token });
      clients.push(made);
      return made;
    };
    const admin = client(coordinator.adminToken);
    const service = client((await admin.trpc.admin.createToken.mutate({ role: "service" })).token);
    const factoryToken = (await admin.trpc.admin.createToken.mutate({ role: "factory" })).token;
    const factory = client(factoryToken);
    const factoryIds = [];
    for (let i = 0; i < CLAIMERS; i++) {
      const factoryId = `bench-${i}`;
      await factory.trpc.factory.register.mutate({
        factoryId,
        descriptor: { host: "bench", pid: process.pid, os: "linux", version: "bench" },
        capabilities: [],
        engines: ["shell"],
        seatLimit: 256,
      });
      factoryIds.push(factoryId);
    }
    fleets.push({ metrics: metrics === "true", coordinator, service, factory, factoryIds, claimMs: 0, claims: 0 });
  }

  for (let round = 0; round < ROUNDS; round++) {
    for (const fleet of round % 2 ? [...fleets].reverse() : fleets) {
      await inParallel(CLAIMERS, JOBS, (i) => fleet.service.trpc.jobs.create.mutate({ bodyMd: `bench ${round} ${i}` }));
      const start = performance.now();
      const counts = await Promise.all(
        fleet.factoryIds.map(async (factoryId) => {
          let n = 0;
          for (;;) {
            const { jobs } = await fleet.factory.trpc.factory.claim.mutate({ factoryId, max: 1 });
            if (jobs.length === 0) return n;
            n += jobs.length;
          }
        }),
      );
      fleet.claimMs += performance.now() - start;
      fleet.claims += counts.reduce((a, b) => a + b, 0);
    }
  }
  const [on, off] = fleets;
  if (!on || !off) throw new Error("two fleets expected");
  const rate = (fleet: typeof on) => (fleet.claims / fleet.claimMs) * 1000;
  for (const fleet of fleets)
    process.stdout.write(
      `metrics ${fleet.metrics ? "on " : "off"}: ${fleet.claims} claims in ${fleet.claimMs.toFixed(0)} ms (${rate(fleet).toFixed(1)} claims/s)\n`,
    );

  // scrapes of the metrics-on coordinator, whose database now holds ROUNDS × JOBS held jobs
  const scrape = async () => {
    const t = performance.now();
    const res = await fetch(`${on.coordinator.url}/metrics`, {
      headers: { authorization: `Bearer ${on.coordinator.adminToken}` },
    });
    const body = await res.text();
    if (res.status !== 200) throw new Error(`scrape answered ${res.status}`);
    return { ms: performance.now() - t, bytes: body.length };
  };
  await new Promise((resolve) => setTimeout(resolve, 5_100)); // past the gauge cache: the next scrape reads MongoDB
  const cold = await scrape();
  const warm = [];
  for (let i = 0; i < SCRAPES; i++) warm.push((await scrape()).ms);
  warm.sort((a, b) => a - b);
  const warmMedian = warm[Math.floor(warm.length / 2)] ?? 0;
  process.stdout.write(
    `scrape: ${cold.bytes} bytes; cold ${cold.ms.toFixed(1)} ms, warm median ${warmMedian.toFixed(1)} ms\n`,
  );
  process.stdout.write(
    `claim_ratio_on_vs_off=${(rate(on) / rate(off)).toFixed(3)} scrape_cold_ms=${cold.ms.toFixed(1)} scrape_warm_ms=${warmMedian.toFixed(1)}\n`,
  );
} finally {
  await Promise.allSettled(clients.map((client) => client.close()));
  await Promise.allSettled(started.map((coordinator) => coordinator.stop()));
  await mongo.stop();
}

/** Runs `count` calls of `fn`, at most `width` at a time. */
async function inParallel(width: number, count: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < count) await fn(next++);
    }),
  );
}
