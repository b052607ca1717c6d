/**
 * Claim throughput and nudge latency, end to end.
 *
 * Starts a MongoDB through the launcher (GF_MONGO_URL, else mongod, else the Java stand-in) and
 * a real coordinator process, seeds JOBS jobs through `jobs.create`, copies them, then measures
 * in the same run and on the same database:
 *  - raw: CLAIMERS concurrent driver `findOneAndUpdate` claims on the copy (the claim's filter,
 *    sort and update shape, nothing else);
 *  - end to end: CLAIMERS registered factories calling `factory.claim` through tRPC, each call
 *    with a request id as the daemon sends it;
 *  - nudge: NUDGES times, `jobs.create` until a subscribed factory hears `work` on `factory.connect`.
 * Ends with exactly `claim_ratio=…` and `nudge_p50_ms=… nudge_p99_ms=…`.
 */
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { databaseNameFor, mongoOptionsFromEnv, startMongo } from "@gigafactory/devdb";
import { spawnCoordinator } from "@gigafactory/coordinator/testing";
import type { FactoryMessage, Job } from "@gigafactory/schema";
import { type Collection, MongoClient } from "mongodb";
import { createClient } from "../test/support/client.js";

// The stand-in scans and sorts every inbox job on each claim, so claim cost grows with JOBS:
// 500 keeps the run well under two minutes there while the coordinator's own cost still shows.
const JOBS = 500;
const CLAIMERS = 8;
const NUDGES = 200;
const ENGINES = ["shell"];
const CAPABILITIES = ["os:linux"];

/** Wakes `waitFor` when a subscription message arrives. */
let wake: (() => void) | undefined;

const mongo = await startMongo(mongoOptionsFromEnv());
const dbName = databaseNameFor("bench-claims");
const coordinator = await spawnCoordinator({
  mongoUrl: mongo.url,
  dbName,
  env: { GF_LEASE_TTL: "1h", GF_LOG_LEVEL: "warn" },
});
const driver = new MongoClient(mongo.url, { maxPoolSize: 50 });
const clients: Array<{ close(): Promise<void> }> = [];
const client = (token: string, transport: "http" | "websocket" = "http") => {
  const made = createClient({ url: coordinator.url, token, transport });
  clients.push(made);
  return made;
};

try {
  process.stdout.write(`mongo: ${mongo.describe()}\ncoordinator: ${coordinator.url} (db ${dbName})\n`);
  const admin = client(coordinator.adminToken);
  const service = client((await admin.trpc.admin.createToken.mutate({ role: "service" })).token);
  const factoryToken = (await admin.trpc.admin.createToken.mutate({ role: "factory" })).token;
  const factory = client(factoryToken);

  // seed: mixed priorities, through the API, a few concurrent creators
  const seedStart = performance.now();
  await inParallel(CLAIMERS, JOBS, (i) =>
    service.trpc.jobs.create.mutate({ bodyMd: `bench job ${i}`, priority: (i * 7) % 11, capabilities: CAPABILITIES }),
  );
  const seedMs = performance.now() - seedStart;
  process.stdout.write(`seeded ${JOBS} jobs in ${seedMs.toFixed(0)} ms (${rate(JOBS, seedMs)} creates/s)\n`);

  // the copy the raw claimers race on, with the same claim index
  await driver.connect();
  const db = driver.db(dbName);
  const seeded = await db.collection<Job>("jobs").find({}).toArray();
  const copy = async (name: string) => {
    const collection = db.collection<Job>(name);
    await collection.insertMany(seeded.map((job) => ({ ...job })));
    await collection.createIndex({ productId: 1, stage: 1, priority: -1, queuedAt: 1 }, { name: "claim" });
    return collection;
  };
  // warm the server's claim path first, so the raw run is not the cold one
  const warm = await copy("jobs_warm");
  await Promise.all(Array.from({ length: CLAIMERS }, (_, i) => rawClaimLoop(warm, `warm-${i}`)));
  const raw = await copy("jobs_raw");

  const rawStart = performance.now();
  const rawClaims = await Promise.all(Array.from({ length: CLAIMERS }, (_, i) => rawClaimLoop(raw, `raw-${i}`)));
  const rawMs = performance.now() - rawStart;
  const rawTotal = sum(rawClaims);

  const factoryIds = Array.from({ length: CLAIMERS }, (_, i) => `bench-${i}`);
  for (const factoryId of factoryIds) {
    await factory.trpc.factory.register.mutate({
      factoryId,
      descriptor: { host: "bench", pid: process.pid, os: "linux", version: "bench" },
      capabilities: CAPABILITIES,
      engines: ENGINES,
      seatLimit: 256,
    });
  }
  const e2eStart = performance.now();
  const e2eClaims = await Promise.all(
    factoryIds.map(async (factoryId) => {
      // as the daemon calls: on its open WebSocket (transport "websocket")
      const own = client(factoryToken, "websocket");
      await own.ready();
      let claimed = 0;
      for (let i = 0; i <= JOBS; i++) {
        // with a request id and `retry: false` (a first try), as the daemon claims: a retry of a lost
        // answer, with the same id, would get the same jobs
        const { jobs } = await own.trpc.factory.claim.mutate({
          factoryId,
          max: 1,
          requestId: randomUUID(),
          retry: false,
        });
        if (jobs.length === 0) break;
        claimed += jobs.length;
      }
      return claimed;
    }),
  );
  const e2eMs = performance.now() - e2eStart;
  const e2eTotal = sum(e2eClaims);
  if (rawTotal !== JOBS || e2eTotal !== JOBS)
    throw new Error(`claimed ${rawTotal} raw and ${e2eTotal} end to end, expected ${JOBS} each`);
  const rawRate = (rawTotal / rawMs) * 1_000;
  const e2eRate = (e2eTotal / e2eMs) * 1_000;
  process.stdout.write(
    `raw findOneAndUpdate: ${rawTotal} claims in ${rawMs.toFixed(0)} ms = ${rawRate.toFixed(1)} claims/s (${CLAIMERS} concurrent)\n`,
  );
  process.stdout.write(
    `end to end factory.claim: ${e2eTotal} claims in ${e2eMs.toFixed(0)} ms = ${e2eRate.toFixed(1)} claims/s (${CLAIMERS} concurrent factories)\n`,
  );

  // nudge latency: one factory listening, creates one at a time
  const listener = "bench-listener";
  await factory.trpc.factory.register.mutate({
    factoryId: listener,
    descriptor: { host: "bench", pid: process.pid, os: "linux", version: "bench" },
    capabilities: ["nudge"],
    engines: ENGINES,
    seatLimit: 1,
  });
  const messages: Array<{ at: number; message: FactoryMessage }> = [];
  const subscription = factory.trpc.factory.connect.subscribe(
    { factoryId: listener },
    {
      onData: (message) => {
        messages.push({ at: performance.now(), message });
        wake?.();
      },
    },
  );
  await waitFor(() => messages.length > 0, "the connect greeting");
  const latencies: number[] = [];
  for (let i = 0; i < NUDGES; i++) {
    const seen = messages.length;
    const start = performance.now();
    await service.trpc.jobs.create.mutate({ bodyMd: `nudge ${i}`, capabilities: ["nudge"] });
    await waitFor(() => messages.slice(seen).some((m) => m.message.type === "work"), `nudge ${i}`);
    const nudge = messages.slice(seen).find((m) => m.message.type === "work");
    latencies.push((nudge?.at ?? Number.NaN) - start);
  }
  subscription.unsubscribe();
  latencies.sort((a, b) => a - b);
  const p50 = percentile(latencies, 0.5);
  const p99 = percentile(latencies, 0.99);
  process.stdout.write(
    `nudge latency over ${NUDGES} creates: p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms, max ${latencies.at(-1)?.toFixed(2)} ms\n`,
  );

  await shutdown();
  process.stdout.write(
    `claim_ratio=${(e2eRate / rawRate).toFixed(3)}\nnudge_p50_ms=${p50.toFixed(2)} nudge_p99_ms=${p99.toFixed(2)}\n`,
  );
} catch (error) {
  await shutdown();
  throw error;
}

async function shutdown(): Promise<void> {
  await Promise.allSettled(clients.map((each) => each.close()));
  await driver
    .db(dbName)
    .dropDatabase()
    .catch(() => undefined);
  await driver.close().catch(() => undefined);
  await coordinator.stop();
  await mongo.stop();
}

/** The claim's query shape (see ClaimsService.claimOne), one driver call per job. */
async function rawClaimLoop(jobs: Collection<Job>, holder: string): Promise<number> {
  let claimed = 0;
  for (let i = 0; i <= JOBS; i++) {
    const now = new Date();
    const job = await jobs.findOneAndUpdate(
      {
        productId: "default",
        stage: { $in: ["inbox"] },
        kind: "leaf",
        pendingDeps: { $size: 0 },
        notBefore: { $lte: now },
        cancelRequested: false,
        capabilities: { $not: { $elemMatch: { $nin: CAPABILITIES } } },
        engine: { $in: ENGINES },
      },
      {
        $set: {
          stage: "building",
          "lease.holder": holder,
          "lease.expiresAt": new Date(now.getTime() + 3_600_000),
          "lease.renewals": 0,
          "lease.runId": `run-${holder}-${i}`,
          updatedAt: now,
        },
        $inc: { "lease.epoch": 1, attempt: 1 },
      },
      { sort: { priority: -1, queuedAt: 1, _id: 1 }, returnDocument: "after" },
    );
    if (!job) break;
    claimed++;
  }
  return claimed;
}

async function inParallel(width: number, count: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

/** Waits until `done()` holds, woken by each subscription message; a 10s bound turns a lost message into an error. */
async function waitFor(done: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`bench: gave up waiting for ${what}`);
    await new Promise<void>((resolve) => {
      wake = resolve;
      setTimeout(resolve, 50);
    });
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? Number.NaN;
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

function rate(count: number, ms: number): string {
  return ((count / ms) * 1_000).toFixed(1);
}
