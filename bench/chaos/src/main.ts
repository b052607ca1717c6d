#!/usr/bin/env node
/**
 * The chaos harness (`pnpm chaos [--short]`): a real fleet — coordinators on one MongoDB,
 * factories spread over them — runs a seeded workload of job shapes while a seeded injector
 * kills, stops, drains and restarts its processes; then it checks the fleet kept its promises.
 * See README.md ("Chaos harness") for what each invariant means.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { databaseNameFor, type MongoHandle, mongoOptionsFromEnv, startMongo } from "@gigafactory/devdb";
import { type Job, type JobEvent, type Run, isTerminalStage } from "@gigafactory/schema";
import { createGigafactoryClient, type GigafactoryClient } from "@gigafactory/sdk";
import { type FaultKind, FaultInjector } from "./faults.js";
import { type Observed, type Verdict, checkJobs, leftoverWorkspaces, processesUnder } from "./invariants.js";
import { type ChaosOptions, parseArgs, USAGE } from "./options.js";
import { createRng } from "./prng.js";
import { CoordinatorSlot, FactorySlot, signalPid, startedPids } from "./processes.js";
import { type PlannedJob, planWorkload } from "./workload.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
const log = (line: string) => process.stdout.write(`[chaos ${elapsed()}] ${line}\n`);

let options: ChaosOptions | "help";
try {
  options = parseArgs(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(2);
}
if (options === "help") {
  process.stdout.write(USAGE);
  process.exit(0);
}
const opts = options;

let mongo: MongoHandle | undefined;
/** The last resort: every process this harness started, by pid. */
function killEverything(): void {
  for (const pid of startedPids) {
    signalPid(pid, "SIGCONT");
    signalPid(pid, "SIGKILL");
  }
  if (mongo?.pid !== undefined) signalPid(mongo.pid, "SIGKILL");
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    log(`${signal}: killing every process started here`);
    killEverything();
    process.exit(130);
  });
}
// a bounded run whatever happens: past the deadline and a margin for clean-up, stop hard
const watchdog = setTimeout(() => {
  log("overall deadline passed during clean-up: killing every process started here");
  killEverything();
  process.stdout.write("chaos: 0 passed, 1 failed\n");
  process.exit(1);
}, opts.deadlineMs + 90_000);
watchdog.unref();

const root = mkdtempSync(join(tmpdir(), "gf-chaos-"));
const logDir = join(root, "logs");
log(
  `mode ${opts.mode}, seed ${opts.seed} (replay: pnpm chaos${opts.mode === "short" ? " --short" : ""} --seed ${opts.seed}), ` +
    `${opts.coordinators} coordinators, ${opts.factories} factories x ${opts.seatsPerFactory} seats, ` +
    `sandbox ${opts.sandbox ? "on" : "off"}, lease ${opts.leaseTtl}, logs in ${logDir}`,
);

const verdicts: Verdict[] = [];
const figures: string[] = [];
let exitCode = 0;
try {
  await run();
} catch (error) {
  log(`harness error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  verdicts.push({ name: "the harness ran to the end", ok: false, details: [String(error)] });
  killEverything();
}
for (const verdict of verdicts) {
  process.stdout.write(`${verdict.ok ? "PASS" : "FAIL"} ${verdict.name}\n`);
  for (const detail of verdict.details.slice(0, 12)) process.stdout.write(`       ${detail}\n`);
  if (verdict.details.length > 12) process.stdout.write(`       ... and ${verdict.details.length - 12} more\n`);
}
for (const figure of figures) process.stdout.write(`${figure}\n`);
const failed = verdicts.filter((verdict) => !verdict.ok).length;
if (failed > 0) {
  exitCode = 1;
  process.stdout.write(`logs kept in ${logDir}\n`);
} else rmSync(root, { recursive: true, force: true });
process.stdout.write(`chaos: ${verdicts.length - failed} passed, ${failed} failed\n`);
process.exit(exitCode);

async function run(): Promise<void> {
  const rng = createRng(opts.seed);
  const deadline = started + opts.deadlineMs - 60_000;
  mongo = await startMongo(mongoOptionsFromEnv());
  log(`MongoDB: ${mongo.describe()}`);
  const dbName = databaseNameFor(`chaos_${opts.seed}`);
  const coordinatorEnv = {
    GF_LEASE_TTL: opts.leaseTtl,
    GF_HEARTBEAT_INTERVAL: "1s",
    GF_BACKOFF_BASE: "200ms",
    GF_BACKOFF_MAX: "2s",
    GF_LOG_LEVEL: "warn",
  };
  const slots = Array.from(
    { length: opts.coordinators },
    (_, i) =>
      new CoordinatorSlot(
        `coordinator-${i}`,
        { mongoUrl: mongo?.url ?? "", dbName, dataDir: join(root, "coordinator-data"), env: coordinatorEnv },
        logDir,
      ),
  );
  const clients: GigafactoryClient[] = [];
  const factories: FactorySlot[] = [];
  try {
    // the first one writes the admin token the others (and every restart) read from the shared data dir
    const first = await slots[0]?.start();
    if (!first) throw new Error("no coordinator");
    await Promise.all(slots.slice(1).map((slot) => slot.start()));
    const admin = createGigafactoryClient({ url: first.url, token: first.adminToken });
    clients.push(admin);
    const { token: serviceToken } = await admin.trpc.admin.createToken.mutate({ role: "service", name: "chaos" });
    const { token: factoryToken } = await admin.trpc.admin.createToken.mutate({ role: "factory", name: "chaos" });
    const service = createGigafactoryClient({ url: first.url, token: serviceToken });
    clients.push(service);

    // the watcher: the product's live feed on coordinator-0, which no factory talks to and no fault kills
    const watcher = createGigafactoryClient({ url: first.url, token: serviceToken, lazyWebSocket: false });
    clients.push(watcher);
    const feedSeen = new Set<string>();
    let feedErrors = 0;
    const feed = watcher.trpc.jobs.feed.subscribe(
      {},
      {
        onData: (envelope) => feedSeen.add(`${envelope.data.jobId}:${envelope.data.seq}`),
        onError: (error) => {
          feedErrors++;
          log(`feed error: ${error.message}`);
        },
      },
    );

    // factories talk to the other coordinators, round robin (with one coordinator, to it)
    const hosts = slots.length > 1 ? slots.slice(1) : slots;
    const base = Object.fromEntries(
      Object.entries(process.env).filter(
        (entry): entry is [string, string] => entry[1] !== undefined && !entry[0].startsWith("GF_"),
      ),
    );
    for (let i = 0; i < opts.factories; i++) {
      const host = hosts[i % hosts.length];
      if (!host) throw new Error("no coordinator for a factory");
      const factoryId = `chaos-f${i + 1}`;
      const workDir = join(root, "factories", factoryId);
      factories.push(
        new FactorySlot(
          factoryId,
          workDir,
          () => ({
            ...base,
            GF_URL: host.url,
            GF_TOKEN: factoryToken,
            GF_FACTORY_ID: factoryId,
            GF_ENGINES: "shell",
            GF_SEATS: String(opts.seatsPerFactory),
            GF_WORK_DIR: workDir,
            GF_DRAIN_GRACE: "2s",
            GF_KILL_GRACE: "300ms",
            GF_CLAIM_POLL: "500ms",
            GF_HEARTBEAT: "1s",
            GF_LOG_LEVEL: "info",
            ...(opts.sandbox ? {} : { GF_SANDBOX: "off" }),
          }),
          logDir,
        ),
      );
    }
    const ready = await Promise.all(factories.map((slot) => slot.start()));
    if (ready.some((ok) => !ok)) throw new Error(`a factory did not start; see ${logDir}`);
    log(`fleet up: ${slots.map((slot) => `${slot.name} ${slot.url}`).join(", ")}`);

    // the workload, submitted through coordinator-0 over the submission window
    const groups = planWorkload(rng, opts.jobs, opts.seed);
    const planned = groups.flat();
    const byKey = new Map(planned.map((job) => [job.key, job]));
    log(`${planned.length} jobs in ${groups.length} groups over ${opts.submitWindowMs / 1000}s`);
    let submitting = true;
    const submitStart = Date.now();
    const submission = (async () => {
      for (const [index, group] of groups.entries()) {
        const at = submitStart + (index * opts.submitWindowMs) / groups.length;
        if (at > Date.now()) await sleep(at - Date.now());
        for (const job of group) await create(service, job, byKey);
        // a composite parent settles once sealed: every child of the group exists by now
        for (const job of group) if (job.input.kind === "composite") await seal(service, job);
      }
    })().finally(() => {
      submitting = false;
    });

    const injector = new FaultInjector({
      rng,
      factories,
      killable: slots.slice(1),
      admin,
      leaseTtlMs: opts.leaseTtlMs,
      log,
    });
    let pending = planned.length;
    const keepInjecting = () =>
      Date.now() < deadline && (submitting || pending > 0 || injector.faults.length < opts.minFaults);
    const injecting = injector.run(opts.faultEveryMs, keepInjecting);

    // wait for every job to end (or the deadline)
    const terminal = new Set<string>();
    while (Date.now() < deadline) {
      await sleep(2_000);
      const open = planned.filter((job) => job.jobId !== undefined && !terminal.has(job.jobId));
      const jobs = await Promise.all(
        open.map((job) => service.trpc.jobs.get.query({ jobId: job.jobId ?? "" }).catch(() => undefined)),
      );
      for (const job of jobs) if (job && isTerminalStage(job.stage)) terminal.add(job._id);
      pending = planned.length - terminal.size;
      if (!submitting && pending === 0) break;
    }
    await submission.catch((error: unknown) => log(`submission failed: ${String(error)}`));
    await injecting;
    log(`${terminal.size}/${planned.length} jobs terminal; waiting for faults in flight to recover`);
    await Promise.race([injector.settle(), sleep(90_000)]);

    // read everything back through coordinator-0
    const observed: Observed[] = [];
    for (const job of planned) {
      if (!job.jobId) continue;
      observed.push(await observe(service, job));
    }
    const observedByKey = new Map(observed.map((each) => [each.planned.key, each]));
    // the feed is live: give it the notifier's poll to catch up with the last endings
    for (let i = 0; i < 30; i++) {
      const missing = checkJobs(observed, { feedSeen, byKey: observedByKey }).find((verdict) =>
        verdict.name.startsWith("a watcher"),
      );
      if (missing?.ok) break;
      await sleep(1_000);
    }
    feed.unsubscribe();

    // stop every factory (they drain), then look for what they left behind
    await Promise.all(factories.map((slot) => slot.stop()));
    for (const slot of factories) slot.closeLog();
    const workDirs = factories.map((slot) => slot.workDir);
    const engines = processesUnder(workDirs);
    const terminalIds = new Set(observed.filter((each) => isTerminalStage(each.job.stage)).map((each) => each.job._id));
    const workspaces = leftoverWorkspaces(workDirs, terminalIds);

    verdicts.push(
      {
        name: "every planned job was created",
        ok: observed.length === planned.length,
        details: planned.filter((job) => !job.jobId).map((job) => `${job.key} (${job.shape}) not created`),
      },
      ...checkJobs(observed, { feedSeen, byKey: observedByKey }),
      { name: "no engine process left", ok: engines.length === 0, details: engines },
      { name: "no workspace left for a terminal job", ok: workspaces.length === 0, details: workspaces },
      {
        name: `at least ${opts.minFaults} faults injected`,
        ok: injector.faults.length >= opts.minFaults,
        details:
          injector.faults.length >= opts.minFaults
            ? []
            : [`${injector.faults.length} faults: the workload ended before the fault target`],
      },
    );

    // figures
    const kinds: FaultKind[] = ["factory-kill", "factory-stop", "factory-drain", "coordinator-kill"];
    const leaves = observed.filter((each) => each.job.kind === "leaf");
    const runsPerJob = leaves.map((each) => each.runs.length);
    const stages = new Map<string, number>();
    for (const each of observed) stages.set(each.job.stage, (stages.get(each.job.stage) ?? 0) + 1);
    const runResults = new Map<string, number>();
    for (const run of observed.flatMap((each) => each.runs)) {
      const result = run.result ?? "open";
      runResults.set(result, (runResults.get(result) ?? 0) + 1);
    }
    const recoveryNotes = injector.faults.filter(
      (fault) => fault.note?.includes("fail") || fault.note?.includes("not"),
    );
    figures.push(
      `figures: mode ${opts.mode}, seed ${opts.seed}, sandbox ${opts.sandbox ? "on" : "off"}`,
      `  jobs: ${observed.length} (${[...stages].map(([stage, n]) => `${n} ${stage}`).join(", ")})`,
      `  faults: ${injector.faults.length} (${kinds.map((kind) => `${injector.count(kind)} ${kind}`).join(", ")})` +
        (recoveryNotes.length ? `; ${recoveryNotes.length} with recovery trouble` : ""),
      `  executions per leaf job: mean ${(runsPerJob.reduce((a, b) => a + b, 0) / Math.max(1, runsPerJob.length)).toFixed(2)}, max ${Math.max(0, ...runsPerJob)}` +
        ` (runs: ${[...runResults].map(([result, n]) => `${n} ${result}`).join(", ")})`,
      `  restarts: ${factories.reduce((sum, slot) => sum + slot.restarts, 0)} factory, ${slots.reduce((sum, slot) => sum + slot.restarts, 0)} coordinator; feed errors ${feedErrors}`,
      `  wall time: ${elapsed()}`,
    );
    for (const fault of recoveryNotes)
      log(`fault ${fault.kind} ${fault.target} at ${fault.at.toISOString()}: ${fault.note}`);
  } finally {
    await Promise.all(clients.map((client) => client.close().catch(() => undefined)));
    await Promise.all(factories.map((slot) => slot.stop(5_000)));
    await Promise.all(slots.map((slot) => slot.stop()));
    await mongo?.stop();
  }
}

/** Creates one planned job (its deps and parent exist already), retrying a failed call: the key makes it safe. */
async function create(service: GigafactoryClient, job: PlannedJob, byKey: Map<string, PlannedJob>): Promise<void> {
  const deps = job.deps.map((key) => byKey.get(key)?.jobId).filter((id): id is string => id !== undefined);
  const parentId = job.parent ? byKey.get(job.parent)?.jobId : undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      const created = await service.trpc.jobs.create.mutate({
        ...job.input,
        idempotencyKey: job.key,
        deps,
        ...(parentId ? { parentId } : {}),
      });
      job.jobId = created.job._id;
      return;
    } catch (error) {
      if (attempt >= 5) throw error;
      await sleep(500 * attempt);
    }
  }
}

/** Closes a composite parent's set of children, retrying a failed call (sealing twice is harmless). */
async function seal(service: GigafactoryClient, job: PlannedJob): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await service.trpc.jobs.seal.mutate({ jobId: job.jobId ?? "" });
      return;
    } catch (error) {
      if (attempt >= 5) throw error;
      await sleep(500 * attempt);
    }
  }
}

async function observe(service: GigafactoryClient, planned: PlannedJob): Promise<Observed> {
  const jobId = planned.jobId ?? "";
  const [job, runs] = (await Promise.all([
    service.trpc.jobs.get.query({ jobId }),
    service.trpc.jobs.runs.query({ jobId }),
  ])) as [Job, Run[]];
  const events: JobEvent[] = [];
  for (let afterSeq = 0; ; ) {
    const page = await service.trpc.jobs.events.query({ jobId, afterSeq, limit: 1_000 });
    events.push(...(page.items as JobEvent[]));
    if (page.items.length < 1_000) break;
    afterSeq = page.nextSeq;
  }
  return { planned, job, runs, events };
}
