/**
 * A fleet on one coordinator (`pnpm --filter @gigafactory/coordinator bench:fleet`).
 *
 * Starts a MongoDB through the launcher (GF_MONGO_URL, else mongod, else the Java stand-in) and
 * one real coordinator process, then FLEET simulated factories in this process, each with its own
 * tRPC client and WebSocket: registered, subscribed to `factory.connect`, heartbeating every
 * HEARTBEAT_MS. Each factory claims on every `work` nudge while it has no job (as the real daemon
 * does), holds what it gets for HOLD_MS and completes it. Jobs arrive at JOB_RATE per second for
 * STEADY_MS, each for one pool of POOL factories (a capability): the coordinator nudges a few of
 * that pool (`streams.nudgeFanout`), not everyone. Then one job every factory can run measures
 * create → claimed with the whole fleet idle.
 *
 * Prints the coordinator's RSS and event-loop delay (measured inside it by bench/loop-probe.cjs),
 * heartbeat and claim latency p50/p99, claim calls per job, and create → claimed; ends with
 * `fleet_rss_mb=` and `fleet_loop_p99_ms=` lines. FLEET, JOB_RATE and STEADY_S can be set in the
 * environment.
 */
import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { databaseNameFor, mongoOptionsFromEnv, startMongo } from "@gigafactory/devdb";
import { spawnCoordinator } from "@gigafactory/coordinator/testing";
import { createClient, type TestClient } from "../test/support/client.js";

const FLEET = Number(process.env.FLEET ?? 1_000);
const POOL = 10;
const JOB_RATE = Number(process.env.JOB_RATE ?? 2);
const STEADY_MS = Number(process.env.STEADY_S ?? 40) * 1_000;
const HEARTBEAT_MS = 10_000;
const HOLD_MS = 200;
/** Registrations and subscriptions in flight at once while the fleet comes up. */
const RAMP_WIDTH = 25;

const here = dirname(fileURLToPath(import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), "gf-fleet-bench-"));
const loopFile = join(scratch, "loop.json");

const mongo = await startMongo(mongoOptionsFromEnv());
const dbName = databaseNameFor("bench-fleet");
const coordinator = await spawnCoordinator({
  mongoUrl: mongo.url,
  dbName,
  env: {
    GF_LEASE_TTL: "1h",
    GF_HEARTBEAT_INTERVAL: `${HEARTBEAT_MS}ms`,
    GF_LOG_LEVEL: "warn",
    // one token for the whole simulated fleet: the per-token limiter is not what is measured
    GF_RATE_LIMIT: "1000000",
    GF_RATE_BURST: "1000000",
    GF_BENCH_LOOP_FILE: loopFile,
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --require ${join(here, "loop-probe.cjs")}`.trim(),
  },
  readyTimeoutMs: 120_000,
});
const clients: TestClient[] = [];
const client = (token: string) => {
  const made = createClient({ url: coordinator.url, token });
  clients.push(made);
  return made;
};
const log = (line: string) => process.stdout.write(`${line}\n`);

interface SimFactory {
  id: string;
  pool: number;
  trpc: TestClient["trpc"];
  busy: boolean;
  claimAgain: boolean;
  /** performance.now() of each `work` message, newest last (cleared by the fan-out probes). */
  nudges: number[];
  unsubscribe(): void;
}

const heartbeatMs: number[] = [];
const claimMs: number[] = [];
let claimsEmpty = 0;
/** performance.now() at which each job id was claimed (first claim only). */
const claimedAt = new Map<string, number>();
let transportRetries = 0;
let completed = 0;
let claiming = true;
let stopping = false;
const timers: NodeJS.Timeout[] = [];

try {
  log(`mongo: ${mongo.describe()}\ncoordinator: ${coordinator.url} pid ${coordinator.process.pid} (db ${dbName})`);
  const admin = client(coordinator.adminToken);
  const service = client((await admin.trpc.admin.createToken.mutate({ role: "service" })).token);
  const factoryToken = (await admin.trpc.admin.createToken.mutate({ role: "factory" })).token;
  const coordinatorPid = coordinator.process.pid ?? 0;
  const rss = () => rssMb(coordinatorPid);
  const rssBefore = rss();

  // the fleet comes up: register, subscribe, first nudge (the connect greeting)
  const fleet: SimFactory[] = [];
  const rampStart = performance.now();
  await inParallel(RAMP_WIDTH, FLEET, async (i) => {
    const own = client(factoryToken);
    const sim: SimFactory = {
      id: `fleet-${i}`,
      pool: i % Math.ceil(FLEET / POOL),
      trpc: own.trpc,
      busy: false,
      claimAgain: false,
      nudges: [],
      unsubscribe: () => undefined,
    };
    await own.trpc.factory.register.mutate({
      factoryId: sim.id,
      descriptor: { host: "fleet-bench", pid: process.pid, os: "linux", version: "bench" },
      capabilities: ["fleet", `pool-${sim.pool}`],
      engines: ["shell"],
      seatLimit: 1,
    });
    const greeted = new Promise<void>((resolve) => {
      const subscription = own.trpc.factory.connect.subscribe(
        { factoryId: sim.id },
        {
          onData: (message) => {
            if (message.type !== "work") return;
            sim.nudges.push(performance.now());
            resolve();
            if (claiming) void claimLoop(sim);
          },
        },
      );
      sim.unsubscribe = () => subscription.unsubscribe();
    });
    await bounded(greeted, 60_000, `${sim.id}'s connect greeting`);
    fleet.push(sim);
  });
  const rampMs = performance.now() - rampStart;
  const rssConnected = rss();
  log(`${FLEET} factories registered and subscribed in ${(rampMs / 1_000).toFixed(1)} s`);

  // heartbeats every HEARTBEAT_MS from every factory, phases spread over the interval
  for (const sim of fleet) {
    const beat = async () => {
      const started = performance.now();
      await transient(() =>
        sim.trpc.factory.heartbeat.mutate({
          factoryId: sim.id,
          load: { running: sim.busy ? 1 : 0 },
          health: { ok: true },
        }),
      );
      heartbeatMs.push(performance.now() - started);
    };
    const phase = Math.floor(Math.random() * HEARTBEAT_MS);
    timers.push(
      setTimeout(() => {
        void beat().catch(() => undefined);
        timers.push(setInterval(() => void beat().catch(() => undefined), HEARTBEAT_MS));
      }, phase),
    );
  }

  // the steady stream: JOB_RATE jobs per second, each for one pool
  await sleep(2_000);
  resetLoop();
  const steadyStart = performance.now();
  const pools = Math.ceil(FLEET / POOL);
  const createdAt = new Map<string, number>();
  const claimsAtStart = claimMs.length;
  let created = 0;
  while (performance.now() - steadyStart < STEADY_MS) {
    const pool = created % pools;
    const started = performance.now();
    const { job } = await transient(() =>
      service.trpc.jobs.create.mutate({ bodyMd: `fleet job ${created}`, capabilities: [`pool-${pool}`] }),
    );
    createdAt.set(job._id, started);
    created++;
    const next = steadyStart + (created * 1_000) / JOB_RATE;
    await sleep(Math.max(0, next - performance.now()));
  }
  const steadySeconds = (performance.now() - steadyStart) / 1_000;
  const loop = readLoop();
  const rssSteady = rss();
  const steadyClaims = claimMs.length - claimsAtStart;
  // create -> claimed, for the steady jobs claimed by now (the rest are counted as unclaimed)
  await waitUntil(
    () => [...createdAt.keys()].every((id) => claimedAt.has(id)),
    60_000,
    "the steady jobs' claims",
  ).catch(() => undefined);
  const dispatchMs = [...createdAt].flatMap(([id, at]) => {
    const got = claimedAt.get(id);
    return got === undefined ? [] : [got - at];
  });
  const unclaimed = createdAt.size - dispatchMs.length;

  // one job every factory can run, the whole fleet idle: how fast is it claimed, how many heard
  await waitUntil(() => fleet.every((sim) => !sim.busy), 180_000, "the fleet to finish its jobs");
  for (const sim of fleet) sim.nudges = [];
  const claimsBefore = claimMs.length;
  const broadcastStart = performance.now();
  const { job: everyone } = await service.trpc.jobs.create.mutate({ bodyMd: "for everyone", capabilities: ["fleet"] });
  await waitUntil(() => claimedAt.has(everyone._id), 180_000, "the job for everyone to be claimed");
  const fanoutMs = (claimedAt.get(everyone._id) ?? Number.NaN) - broadcastStart;
  await waitUntil(() => fleet.every((sim) => !sim.busy), 180_000, "the fleet to settle");
  const heardEveryone = fleet.filter((sim) => sim.nudges.length > 0).length;
  const claimsEveryone = claimMs.length - claimsBefore;
  claiming = false;

  stopping = true;
  for (const timer of timers) clearTimeout(timer);
  const sorted = (values: number[]) => [...values].sort((a, b) => a - b);
  const hb = sorted(heartbeatMs);
  const cl = sorted(claimMs);
  const pf = sorted(dispatchMs);
  log(
    `steady phase: ${created} jobs in ${steadySeconds.toFixed(1)} s (${JOB_RATE}/s, each for a pool of ${POOL}), ` +
      `${completed} completed, ${steadyClaims} claim calls (${(steadyClaims / Math.max(1, created)).toFixed(1)} per job); ` +
      `${cl.length} claims in all (${claimsEmpty} empty), ${unclaimed} steady jobs unclaimed after 60 s`,
  );
  log(
    `coordinator RSS: ${rssBefore.toFixed(1)} MB before the fleet, ${rssConnected.toFixed(1)} MB with it connected, ${rssSteady.toFixed(1)} MB after the steady phase`,
  );
  log(`coordinator event-loop delay over the steady phase: p50 ${loop.p50} ms, p99 ${loop.p99} ms, max ${loop.max} ms`);
  log(`heartbeat latency (${hb.length}): p50 ${fmt(percentile(hb, 0.5))} ms, p99 ${fmt(percentile(hb, 0.99))} ms`);
  log(`claim latency (${cl.length}): p50 ${fmt(percentile(cl, 0.5))} ms, p99 ${fmt(percentile(cl, 0.99))} ms`);
  log(`create -> claimed (${pf.length}): p50 ${fmt(percentile(pf, 0.5))} ms, p99 ${fmt(percentile(pf, 0.99))} ms`);
  log(
    `a job any of ${FLEET} idle factories can run: claimed ${fmt(fanoutMs)} ms after its create; ` +
      `${heardEveryone} factories heard \`work\`, ${claimsEveryone} claim calls`,
  );
  log(
    `calls retried after a failed connection: ${transportRetries}; coordinator ${coordinator.process.exitCode === null ? "running" : `exited ${coordinator.process.exitCode}`}`,
  );
  log(
    `load average ${loadavg()
      .map((value) => value.toFixed(1))
      .join(" ")} (bench, coordinator and MongoDB share this host)`,
  );
  log(`fleet_rss_mb=${rssSteady.toFixed(1)}`);
  log(`fleet_loop_p99_ms=${loop.p99}`);
  log(`fleet_heartbeat_p50_ms=${fmt(percentile(hb, 0.5))} fleet_heartbeat_p99_ms=${fmt(percentile(hb, 0.99))}`);
  log(`fleet_claim_p50_ms=${fmt(percentile(cl, 0.5))} fleet_claim_p99_ms=${fmt(percentile(cl, 0.99))}`);
  log(`fleet_dispatch_p50_ms=${fmt(percentile(pf, 0.5))} fleet_dispatch_p99_ms=${fmt(percentile(pf, 0.99))}`);
  log(`fleet_claims_per_job=${(steadyClaims / Math.max(1, created)).toFixed(1)}`);
  log(`fleet_idle_dispatch_ms=${fmt(fanoutMs)}`);
  for (const sim of fleet) sim.unsubscribe();
  await shutdown();
} catch (error) {
  log(
    `coordinator ${coordinator.process.exitCode === null ? "still running" : `exited ${coordinator.process.exitCode}`}; its last output:\n${coordinator.output.slice(-20).join("\n")}`,
  );
  stopping = true;
  for (const timer of timers) clearTimeout(timer);
  await shutdown();
  throw error;
}

/** The daemon's claim loop, simplified: one claim in flight; a nudge meanwhile claims again after it. */
async function claimLoop(sim: SimFactory): Promise<void> {
  if (sim.busy) {
    sim.claimAgain = true;
    return;
  }
  sim.busy = true;
  try {
    do {
      sim.claimAgain = false;
      if (!claiming || stopping) return;
      const started = performance.now();
      const requestId = randomUUID(); // kept across retries, as the daemon does
      const { jobs } = await transient(() => sim.trpc.factory.claim.mutate({ factoryId: sim.id, max: 1, requestId }));
      claimMs.push(performance.now() - started);
      const claimed = jobs[0];
      if (claimed && !claimedAt.has(claimed.job._id)) claimedAt.set(claimed.job._id, performance.now());
      if (!claimed) {
        claimsEmpty++;
        continue;
      }
      await sleep(HOLD_MS);
      await transient(() =>
        sim.trpc.factory.complete.mutate({
          jobId: claimed.job._id,
          epoch: claimed.epoch,
          factoryId: sim.id,
          result: "success",
        }),
      );
      completed++;
      sim.claimAgain = true; // a seat is free again: look for more, as the daemon does
    } while (sim.claimAgain);
  } catch (error) {
    if (!stopping) log(`${sim.id}: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    sim.busy = false;
  }
}

/**
 * A call retried (up to 3 tries) when the connection failed under it, as the daemon retries
 * transient errors; counted, and printed with the figures.
 */
async function transient<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (attempt >= 3 || !/fetch failed|ECONNRESET|socket hang up/.test(message)) throw error;
      transportRetries++;
      await sleep(200 * attempt);
    }
  }
}

async function shutdown(): Promise<void> {
  await Promise.allSettled(clients.map((each) => each.close()));
  await coordinator.stop();
  await mongo.stop();
  rmSync(scratch, { recursive: true, force: true });
}

function resetLoop(): void {
  writeFileSync(`${loopFile}.reset`, "");
}

function readLoop(): { p50: number; p99: number; max: number } {
  if (!existsSync(loopFile)) throw new Error("the coordinator's loop probe wrote nothing (NODE_OPTIONS --require)");
  return JSON.parse(readFileSync(loopFile, "utf8")) as { p50: number; p99: number; max: number };
}

function rssMb(pid: number): number {
  const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  if (!kb) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(kb) / 1024;
}

async function inParallel(width: number, count: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

async function waitUntil(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`bench: gave up waiting for ${what}`);
    await sleep(20);
  }
}

function bounded<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    promise,
    sleep(ms).then(() => {
      throw new Error(`bench: no ${what} within ${ms} ms`);
    }),
  ]);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? Number.NaN;
}

function fmt(ms: number): string {
  return ms.toFixed(1);
}
