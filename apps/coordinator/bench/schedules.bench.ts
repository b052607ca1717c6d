/**
 * Schedule firing lag: due time → job created, on one real coordinator process.
 *
 * Starts a MongoDB through the launcher (GF_MONGO_URL, else mongod, else the Java stand-in) and
 * one coordinator. First a baseline of BASELINE schedules, then SCHEDULES schedules, each
 * `every: PERIOD` with phases spread evenly over the period (SCHEDULES / PERIOD due times a
 * second), allowAll, no factory (jobs wait in the inbox). Each phase runs for ROUNDS periods, then
 * the lag of every fired job is read from the database (`createdAt` minus the due time its
 * idempotency key names). Ends with exactly `schedule_lag_p50_ms=… schedule_lag_p99_ms=…` and
 * `schedule_lag_p99_ratio=…` (1,000 schedules against the baseline of the same run).
 */
import { databaseNameFor, mongoOptionsFromEnv, startMongo } from "@gigafactory/devdb";
import { spawnCoordinator } from "@gigafactory/coordinator/testing";
import type { Job } from "@gigafactory/schema";
import { MongoClient } from "mongodb";
import { createClient } from "../test/support/client.js";

const SCHEDULES = 1_000;
const BASELINE = 10;
const PERIOD_MS = 10_000;
const ROUNDS = 3;

const mongo = await startMongo(mongoOptionsFromEnv());
const dbName = databaseNameFor("bench-schedules");
const coordinator = await spawnCoordinator({ mongoUrl: mongo.url, dbName, env: { GF_LOG_LEVEL: "warn" } });
const driver = new MongoClient(mongo.url);
const admin = createClient({ url: coordinator.url, token: coordinator.adminToken });

try {
  process.stdout.write(`mongo: ${mongo.describe()}\ncoordinator: ${coordinator.url} (db ${dbName})\n`);
  const base = await phase("base", BASELINE);
  const full = await phase("full", SCHEDULES);
  await shutdown();
  process.stdout.write(
    `schedule_lag_p50_ms=${full.p50.toFixed(1)} schedule_lag_p99_ms=${full.p99.toFixed(1)}\n` +
      `schedule_lag_p99_ratio=${(full.p99 / Math.max(base.p99, 1)).toFixed(2)}\n`,
  );
} catch (error) {
  await shutdown();
  throw error;
}

/** Creates `count` schedules, lets them fire for ROUNDS periods, pauses them and measures. */
async function phase(name: string, count: number): Promise<{ p50: number; p99: number }> {
  const ids = Array.from({ length: count }, (_, i) => `${name}-${i}`);
  await inParallel(8, count, (i) =>
    admin.trpc.schedules.create.mutate({
      id: ids[i] as string,
      specs: [{ every: PERIOD_MS, phase: Math.floor((i * PERIOD_MS) / count) }],
      overlap: "allowAll",
      job: { bodyMd: `bench ${name} ${i}` },
    }),
  );
  const since = Date.now();
  const until = since + ROUNDS * PERIOD_MS;
  await new Promise((resolve) => setTimeout(resolve, ROUNDS * PERIOD_MS + 2_000));
  await inParallel(8, count, (i) => admin.trpc.schedules.pause.mutate({ id: ids[i] as string }));
  const jobs = await driver
    .db(dbName)
    .collection<Job>("jobs")
    .find({ scheduleId: { $regex: `^default/${name}-` } })
    .toArray();
  const lags = jobs
    .map((job) => ({ job, due: Date.parse(job.idempotencyKey.slice(job.idempotencyKey.indexOf(":", 9) + 1)) }))
    // due times while every schedule ran; the pauses at the end would load the coordinator too
    .filter(({ due }) => due >= since && due < until)
    .map(({ job, due }) => job.createdAt.getTime() - due)
    .sort((a, b) => a - b);
  const expected = ROUNDS * count;
  const p50 = percentile(lags, 0.5);
  const p99 = percentile(lags, 0.99);
  process.stdout.write(
    `${name}: ${count} schedules, ${lags.length} firings (about ${expected} due): lag p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${lags.at(-1)?.toFixed(1)} ms\n`,
  );
  return { p50, p99 };
}

async function shutdown(): Promise<void> {
  await admin.close().catch(() => undefined);
  await driver
    .db(dbName)
    .dropDatabase()
    .catch(() => undefined);
  await driver.close().catch(() => undefined);
  await coordinator.stop();
  await mongo.stop();
}

async function inParallel(width: number, count: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? Number.NaN;
}
