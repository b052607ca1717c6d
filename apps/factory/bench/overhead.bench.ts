// Factory overhead: idle memory of a registered factory process, and what the factory adds to a
// job beyond running its command. Starts MongoDB (the launcher's choice), a coordinator and one
// factory process; runs N shell jobs `true` one after the other and compares their timings, from
// the job events (coordinator clock) and the factory's own log lines (same host, same clock),
// with a bare `spawn("bash", ["-c", "true"])` in this process; then the same jobs in a repository. Ends with
// `idle_rss_mb=`, `overhead_ms=` (no repository) and `overhead_repo_ms=` lines.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { mongoOptionsFromEnv, startMongo } from "@gigafactory/devdb";
import type { JobEvent } from "@gigafactory/schema";
import { createGigafactoryClient } from "@gigafactory/sdk";
import { startCluster } from "../test/support/cluster.js";
import { type FactoryProcess, startFactory } from "../test/support/factory-process.js";
import { tempRepo } from "../test/support/temp.js";
import { allEvents, waitFor, waitForOutcome } from "../test/support/wait.js";

const JOBS = Number(process.env.BENCH_JOBS ?? 30);
const WARMUP = 3;
const HEARTBEATS = 4;

interface JobTiming {
  /** claimed event → the factory's "engine started" log line */
  claimToEngine: number;
  /** engine started → engine finished (the child and its group, as the factory saw them) */
  engine: number;
  /** "engine finished" → completed event */
  engineToDone: number;
  /** created event → claimed event (dispatch: notifier, nudge, claim) */
  createToClaim: number;
  /** created event → completed event */
  endToEnd: number;
  /** claimed → completed: how long the factory held the job */
  held: number;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};
const p90 = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * 0.9))] ?? Number.NaN;
const fmt = (ms: number) => ms.toFixed(1);

function vmRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
  if (!kb) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(kb) / 1024;
}

/** One bare spawn of `bash -c true`, until it has exited: the floor the factory is compared against. */
function bareSpawn(): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["-c", "true"], { stdio: "ignore" });
    child.once("error", reject);
    child.once("exit", () => resolve(performance.now() - started));
  });
}

/** The factory's log lines for one job, by message. */
function factoryLogTime(factory: FactoryProcess, jobId: string, msg: string): number {
  for (const line of factory.output) {
    if (!line.includes(jobId) || !line.includes(msg)) continue;
    const entry = JSON.parse(line) as { jobId?: string; msg?: string; time?: number };
    if (entry.jobId === jobId && entry.msg === msg && typeof entry.time === "number") return entry.time;
  }
  throw new Error(`no "${msg}" log line for ${jobId}`);
}

const eventTime = (events: JobEvent[], type: string) => {
  const event = events.find((candidate) => candidate.type === type);
  if (!event) throw new Error(`no ${type} event`);
  return event.at.getTime();
};

async function main(): Promise<void> {
  const mongo = await startMongo(mongoOptionsFromEnv());
  console.log(`mongo: ${mongo.describe()}`);
  const cluster = await startCluster({
    mongoUrl: mongo.url,
    label: `factory-bench-${process.pid}`,
    env: { GF_LEASE_TTL: "30s" },
  });
  let factory: FactoryProcess | undefined;
  try {
    factory = await startFactory(cluster, { factoryId: "bench-1", seats: 1, heartbeat: "250ms", claimPoll: "5s" });
    const admin = createGigafactoryClient({ url: cluster.url, token: cluster.coordinator.adminToken });
    // idle: registered and a few heartbeats in
    const seen = new Set<number>();
    await waitFor(
      `${HEARTBEATS} heartbeats`,
      async () => {
        const listed = await admin.trpc.admin.factories.query({});
        const beat = listed.find((entry) => entry.factoryId === "bench-1")?.lastHeartbeatAt;
        if (beat) seen.add(beat.getTime());
        return seen.size > HEARTBEATS;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    await admin.close();
    const idleRss = vmRssMb(factory.pid);
    console.log(
      `factory pid ${factory.pid}: idle VmRSS ${fmt(idleRss)} MB after registration and ${HEARTBEATS} heartbeats`,
    );

    const measure = async (repo: string | undefined): Promise<JobTiming[]> => {
      const timings: JobTiming[] = [];
      for (let i = 0; i < WARMUP + JOBS; i++) {
        const { job } = await cluster.service.trpc.jobs.create.mutate({
          title: `bench ${i}`,
          engine: "shell",
          command: "true",
          bodyMd: "true",
          ...(repo ? { repo } : {}),
        });
        await waitForOutcome(cluster.service, job._id, "shipped", {
          intervalMs: 10,
          describe: () => factory?.tail() ?? "",
        });
        if (i < WARMUP) continue;
        // the stage and its event's seq change in one write; the event itself lands a moment later
        let events = await allEvents(cluster.service, job._id);
        for (let poll = 0; poll < 200 && !events.some((event) => event.type === "completed"); poll++) {
          await new Promise((resolve) => setTimeout(resolve, 10));
          events = await allEvents(cluster.service, job._id);
        }
        const created = eventTime(events, "created");
        const claimed = eventTime(events, "claimed");
        const completed = eventTime(events, "completed");
        if (!factory) throw new Error("no factory");
        const engineStarted = factoryLogTime(factory, job._id, "engine started");
        const engineFinished = factoryLogTime(factory, job._id, "engine finished");
        timings.push({
          claimToEngine: engineStarted - claimed,
          engine: engineFinished - engineStarted,
          engineToDone: completed - engineFinished,
          createToClaim: claimed - created,
          endToEnd: completed - created,
          held: completed - claimed,
        });
      }
      return timings;
    };
    const timings = await measure(undefined);
    // the same job in a git worktree of a repository (worktree, WIP commit, branch, diff)
    const repo = await tempRepo("factory-bench");
    const repoTimings = await measure(repo.path);

    // same count, same process, after the factory work (a warm event loop either way)
    for (let i = 0; i < WARMUP; i++) await bareSpawn();
    const bare: number[] = [];
    for (let i = 0; i < JOBS; i++) bare.push(await bareSpawn());
    const bareMedian = median(bare);

    const row = (label: string, values: number[]) =>
      console.log(
        `${label.padEnd(34)} median ${fmt(median(values)).padStart(7)} ms   p90 ${fmt(p90(values)).padStart(7)} ms`,
      );
    const report = (title: string, rows: JobTiming[]): number => {
      const column = (key: keyof JobTiming) => rows.map((timing) => timing[key]);
      console.log(`\n${JOBS} shell jobs \`true\`${title}, one at a time (after ${WARMUP} warm-up jobs), 1 seat:`);
      row("create -> claimed (dispatch)", column("createToClaim"));
      row("claimed -> engine start", column("claimToEngine"));
      row("engine start -> engine exit", column("engine"));
      row("engine exit -> completed", column("engineToDone"));
      row("claimed -> completed (held)", column("held"));
      row("create -> shipped (end to end)", column("endToEnd"));
      row("bare spawn bash -c true", bare);
      const overhead = rows.map((timing) => timing.held - bareMedian);
      row("factory overhead (held - bare)", overhead);
      return median(overhead);
    };
    const overhead = report(" without a repository", timings);
    const repoOverhead = report(" in a repository (worktree, WIP commit, diff)", repoTimings);
    console.log(
      "(event times are the coordinator's, engine start/exit the factory's log lines; millisecond resolution;" +
        ` load average ${loadavg()
          .map((value) => value.toFixed(1))
          .join(" ")})\n`,
    );
    await repo.remove();

    await factory.stop();
    factory = undefined;
    await cluster.close();
    await mongo.stop();
    console.log(`idle_rss_mb=${fmt(idleRss)}`);
    console.log(`overhead_ms=${fmt(overhead)}`);
    console.log(`overhead_repo_ms=${fmt(repoOverhead)}`);
  } finally {
    await factory?.stop("SIGKILL");
    await cluster.close();
    await mongo.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
