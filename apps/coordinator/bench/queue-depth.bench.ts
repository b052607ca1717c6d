/**
 * Claim latency as the queue grows (`pnpm --filter @gigafactory/coordinator bench:queue`).
 *
 * One real coordinator on a MongoDB from the launcher. For each depth (1k, 10k, 100k waiting jobs;
 * DEPTHS=1000,10000 to change) the jobs collection is refilled with copies of one job made through
 * `jobs.create`, then one registered factory claims CLAIMS jobs one at a time through
 * `factory.claim`, as the daemon does. Prints the median and p90 per depth and each depth's median
 * as a ratio of the smallest depth's (`queue_ratio_<depth>=`), and says which MongoDB it ran on:
 * the Java stand-in scans and sorts every waiting job per claim, so its curve is not the
 * product's. With GF_MONGO_URL it runs on that database only; otherwise on mongod when the host has
 * one and on the stand-in too, each printed.
 */
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { databaseNameFor, type MongoHandle, mongoOptionsFromEnv, startMongo } from "@gigafactory/devdb";
import { spawnCoordinator } from "@gigafactory/coordinator/testing";
import type { Job } from "@gigafactory/schema";
import { MongoClient } from "mongodb";
import { createClient, type TestClient } from "../test/support/client.js";

const DEPTHS = (process.env.DEPTHS ?? "1000,10000,100000").split(",").map(Number);
const CLAIMS = Number(process.env.CLAIMS ?? 30);
const INSERT_BATCH = 1_000;
const log = (line: string) => process.stdout.write(`${line}\n`);

// the stand-in keeps every job in its heap: 111,000 of them do not fit the launcher's default 256 MiB
const STAND_IN_HEAP_MB = 2_048;
const launcherEnv = mongoOptionsFromEnv();
const fromEnv = { ...launcherEnv, heapMb: launcherEnv.heapMb ?? STAND_IN_HEAP_MB };
const first = await startMongo(fromEnv);
const runs: MongoHandle[] = [first];
if (!fromEnv.url && first.backend === "mongod") runs.push(await startMongo({ ...fromEnv, backend: "stand-in" }));
if (first.backend !== "mongod" && !fromEnv.url)
  log(
    "no mongod on this host: only the Java stand-in, which scans every waiting job per claim (not the product's curve)",
  );

for (const mongo of runs) {
  try {
    await measure(mongo);
  } finally {
    await mongo.stop();
  }
}

async function measure(mongo: MongoHandle): Promise<void> {
  log(`\nmongo: ${mongo.describe()}`);
  const dbName = databaseNameFor("bench-queue");
  const coordinator = await spawnCoordinator({
    mongoUrl: mongo.url,
    dbName,
    env: { GF_LEASE_TTL: "1h", GF_LOG_LEVEL: "warn", GF_RATE_LIMIT: "1000000", GF_RATE_BURST: "1000000" },
    readyTimeoutMs: 120_000,
  });
  // a stand-in busy with 100k documents answers its monitor late: do not take that for a lost server
  const driver = new MongoClient(mongo.url, { connectTimeoutMS: 120_000, heartbeatFrequencyMS: 60_000 });
  const clients: TestClient[] = [];
  try {
    await driver.connect();
    const jobs = driver.db(dbName).collection<Job>("jobs");
    const admin = createClient({ url: coordinator.url, token: coordinator.adminToken });
    clients.push(admin);
    const service = createClient({
      url: coordinator.url,
      token: (await admin.trpc.admin.createToken.mutate({ role: "service" })).token,
    });
    const factory = createClient({
      url: coordinator.url,
      token: (await admin.trpc.admin.createToken.mutate({ role: "factory" })).token,
    });
    clients.push(service, factory);
    const factoryId = "queue-bench";
    await factory.trpc.factory.register.mutate({
      factoryId,
      descriptor: { host: "bench", pid: process.pid, os: "linux", version: "bench" },
      capabilities: ["queue"],
      engines: ["shell"],
      seatLimit: 256,
    });
    const { job: template } = await service.trpc.jobs.create.mutate({ bodyMd: "queue job", capabilities: ["queue"] });
    const stored = await jobs.findOne({ _id: template._id });
    if (!stored) throw new Error("the template job is not stored");

    const medians = new Map<number, number>();
    for (const depth of DEPTHS) {
      await jobs.deleteMany({ productId: stored.productId });
      const seedStart = performance.now();
      for (let from = 0; from < depth; from += INSERT_BATCH) {
        const batch = Array.from({ length: Math.min(INSERT_BATCH, depth - from) }, (_, k) => {
          const i = from + k;
          return {
            ...stored,
            // the (product, key) index is unique: each copy its own key
            idempotencyKey: `queue-bench-${depth}-${i}`,
            // ids new at each depth: the events of the jobs claimed at the last one stay
            _id: `job_q${depth.toString(36)}x${i.toString(36).padStart(8, "0")}`,
            priority: i % 11,
            queuedAt: new Date(stored.queuedAt.getTime() + i),
          } as Job;
        });
        await jobs.insertMany(batch, { ordered: false });
      }
      const seedMs = performance.now() - seedStart;
      const latencies: number[] = [];
      for (let i = 0; i < CLAIMS; i++) {
        const started = performance.now();
        const { jobs: claimed } = await factory.trpc.factory.claim.mutate({
          factoryId,
          max: 1,
          requestId: randomUUID(),
        });
        latencies.push(performance.now() - started);
        if (claimed.length !== 1) throw new Error(`claim ${i} at depth ${depth} got ${claimed.length} jobs`);
      }
      latencies.sort((a, b) => a - b);
      const median = latencies[Math.floor(latencies.length / 2)] ?? Number.NaN;
      const p90 = latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.9))] ?? Number.NaN;
      medians.set(depth, median);
      log(
        `${String(depth).padStart(7)} waiting: claim median ${median.toFixed(1)} ms, p90 ${p90.toFixed(1)} ms ` +
          `(${CLAIMS} claims; seeded in ${(seedMs / 1_000).toFixed(1)} s)`,
      );
    }
    const base = medians.get(DEPTHS[0] ?? 0) ?? Number.NaN;
    for (const depth of DEPTHS) {
      log(`queue_ratio_${depth}=${((medians.get(depth) ?? Number.NaN) / base).toFixed(2)} (backend ${mongo.backend})`);
    }
  } finally {
    await Promise.allSettled(clients.map((client) => client.close()));
    await driver.close().catch(() => undefined);
    await coordinator.stop();
  }
}
