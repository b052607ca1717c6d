import { randomUUID } from "node:crypto";
import { readFile, statfs, writeFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { arch, hostname, loadavg, platform } from "node:os";
import { join } from "node:path";
import type { ClaimedJob, FactoryMessage } from "@gigafactory/schema";
import { type GigafactoryClient, createGigafactoryClient } from "@gigafactory/sdk/client";
import { httpFetch } from "./client/http-fetch.js";
import { childEnv, defaultFactoryId, type FactoryConfig } from "./config.js";
import type { Engine } from "./engines/engine.js";
import { builtInEngines, detectAvailableEngines } from "./engines/registry.js";
import type { Logger } from "./logger.js";
import { heartbeatEvery, startRetryDelay } from "./options.js";
import type { FactoryMetrics } from "./metrics/factory-metrics.js";
import { ClaimPoll } from "./claims/claim-poll.js";
import { FencedSignal, fencedWrite, isTransient, neverReached } from "./runner/fence.js";
import type { JobRunner } from "./runner/job-runner.js";
import type { Sandbox } from "./sandbox/sandbox.js";
import { FACTORY_VERSION } from "./version.js";
import { cleanupLeftovers, privateDir } from "./workspace/workspace.js";

type State = "starting" | "active" | "draining" | "closed";

/** `close()` (a signal) came while the daemon was still waiting for its coordinator at start-up. */
export class StartCancelled extends Error {
  constructor() {
    super("stopped while waiting for the coordinator");
    this.name = "StartCancelled";
  }
}

/**
 * The factory daemon: registers, heartbeats, listens on `factory.connect`, claims what it
 * can run (never more than its seats) and runs each job in a {@link JobRunner}.
 * `close()` drains: no new claims, running jobs get a grace period, then are released.
 */
export class FactoryDaemon {
  private client: GigafactoryClient | undefined;
  private readonly runners = new Map<string, JobRunner>();
  /** Runners superseded by a newer claim of their job, still stopping: a second signal must reach their engines too. */
  private readonly retired = new Set<JobRunner>();
  private state: State = "starting";
  private factoryId = "";
  private engines = new Map<string, Engine>();
  private timers: NodeJS.Timeout[] = [];
  private subscription: { unsubscribe(): void } | undefined;
  private claiming: Promise<void> | undefined;
  private claimAgain = false;
  private poll: ClaimPoll | undefined;
  /**
   * A claim whose answer has not arrived (its call failed): the next claim sends the same id, so a
   * claim that was applied gets its jobs back instead of leaving their leases on these seats.
   * `at` is when it was first sent, the earliest its leases can have been granted; `sent` whether a
   * try has gone out (the next one is then a retry).
   */
  private unansweredClaim: { requestId: string; at: number; sent: boolean } | undefined;
  private closing: Promise<void> | undefined;
  private drainStarted: Promise<void> | undefined;
  /** Aborted by `close()`: ends a start-up still waiting for the coordinator. */
  private readonly closed = new AbortController();
  /** Prometheus metrics and their server, with `--metrics-addr` only (prom-client is loaded only then). */
  private metrics: FactoryMetrics | undefined;
  private metricsServer: { url: string; close(): Promise<void> } | undefined;

  constructor(
    private readonly config: FactoryConfig,
    private readonly logger: Logger,
    private readonly env: NodeJS.ProcessEnv = process.env,
    /** Where engines and gates run; undefined only with the explicit `--no-sandbox`. */
    private readonly sandbox?: Sandbox,
  ) {}

  get id(): string {
    return this.factoryId;
  }

  get runningJobs(): string[] {
    return [...this.runners.keys()];
  }

  async start(): Promise<{ factoryId: string; engines: string[]; metricsUrl?: string }> {
    const { config } = this;
    if (config.metricsAddr) {
      const [{ FactoryMetrics }, { parseMetricsAddr, serveMetrics }] = await Promise.all([
        import("./metrics/factory-metrics.js"),
        import("./metrics/metrics-server.js"),
      ]);
      this.metrics = new FactoryMetrics(() => ({ limit: config.seats, used: this.runners.size }));
      this.metricsServer = await serveMetrics(this.metrics.registry, parseMetricsAddr(config.metricsAddr));
    }
    await privateDir(config.workDir);
    const leftovers = await cleanupLeftovers(config.workDir, this.logger);
    if (leftovers) this.logger.warn({ leftovers }, "removed workspaces left by a previous run");
    this.factoryId = config.factoryId ?? (await this.stableId());
    this.engines = await this.resolveEngines();
    this.client = createGigafactoryClient({
      url: config.url,
      token: config.token,
      lazyWebSocket: false,
      // the socket is open for the nudges anyway: claims, renewals and events go on it while it is
      transport: "websocket",
      fetch: httpFetch,
    });
    const registered = await this.register(this.client);
    this.state = "active";
    this.timers.push(
      setInterval(() => void this.heartbeat(), heartbeatEvery(config.heartbeat, registered.heartbeatMs)),
    );
    this.poll = new ClaimPoll({ intervalMs: config.claimPoll, poll: () => this.pollClaims() });
    this.poll.start();
    this.subscription = this.client.trpc.factory.connect.subscribe(
      { factoryId: this.factoryId },
      {
        onData: (message) => this.onMessage(message),
        // (re)subscribed, e.g. through another coordinator: what was queued meanwhile is claimed now
        onStarted: () => {
          this.poll?.reset();
          this.claimSoon();
        },
        onError: (error) => this.logger.warn({ err: error }, "connect subscription error"),
      },
    );
    this.logger.info(
      {
        factoryId: this.factoryId,
        engines: [...this.engines.keys()],
        seats: config.seats,
        leaseTtlMs: registered.leaseTtlMs,
      },
      "factory registered",
    );
    this.claimSoon();
    const metricsUrl = this.metricsServer?.url;
    return { factoryId: this.factoryId, engines: [...this.engines.keys()], ...(metricsUrl ? { metricsUrl } : {}) };
  }

  /**
   * Registers; while the coordinator is unreachable (a network error or a 5xx) it tries again
   * with capped exponential backoff ({@link startRetryDelay}), logging each try, until it answers,
   * `startTimeout` runs out (then the last error is thrown) or `close()` is called
   * ({@link StartCancelled}). Any other answer (a refused token) is thrown at once.
   */
  private async register(client: GigafactoryClient) {
    const { config } = this;
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      if (this.closed.signal.aborted) throw new StartCancelled();
      try {
        return await client.trpc.factory.register.mutate({
          factoryId: this.factoryId,
          descriptor: { host: hostname(), pid: process.pid, os: platform(), arch: arch(), version: FACTORY_VERSION },
          capabilities: config.capabilities,
          engines: [...this.engines.keys()],
          seatLimit: config.seats,
        });
      } catch (error) {
        if (this.closed.signal.aborted) throw new StartCancelled();
        if (!isTransient(error)) throw error;
        const delayMs = startRetryDelay(attempt);
        if (config.startTimeout !== undefined && Date.now() - started + delayMs > config.startTimeout) throw error;
        this.logger.warn(
          { err: error, url: config.url, attempt, retryInMs: delayMs },
          "coordinator unreachable; waiting to register",
        );
        await sleep(delayMs, undefined, { signal: this.closed.signal }).catch(() => undefined);
      }
    }
  }

  private onMessage(message: FactoryMessage): void {
    if (message.type === "work") {
      this.poll?.reset();
      this.claimSoon();
    } else if (message.type === "cancel") this.runners.get(message.jobId)?.cancel(message.epoch);
    else if (message.type === "drain") void this.drain();
  }

  /** One claim poll: claims as a nudge would, until that is done (a claimed job resets the poll). */
  private async pollClaims(): Promise<void> {
    this.claimSoon();
    while (this.claiming) await this.claiming;
  }

  /** Claims until the seats are full or nothing is left; coalesces concurrent calls. */
  private claimSoon(): void {
    if (this.claiming) {
      this.claimAgain = true;
      return;
    }
    this.claiming = this.claimLoop()
      .catch((error: unknown) => this.logger.warn({ err: error }, "claim failed"))
      .finally(() => {
        this.claiming = undefined;
        if (this.claimAgain) {
          this.claimAgain = false;
          this.claimSoon();
        }
      });
  }

  private async claimLoop(): Promise<void> {
    while (this.state === "active" && this.client) {
      const free = this.config.seats - this.runners.size;
      if (free <= 0) return;
      this.unansweredClaim ??= { requestId: randomUUID(), at: Date.now(), sent: false };
      const { requestId, at: claimedAt, sent } = this.unansweredClaim;
      this.unansweredClaim.sent = true;
      let jobs: ClaimedJob[];
      try {
        // `retry` says whether an earlier try of this id may have leased jobs the answer lost
        ({ jobs } = await this.client.trpc.factory.claim.mutate({
          factoryId: this.factoryId,
          max: free,
          requestId,
          retry: sent,
        }));
      } catch (error) {
        // A try that may have been applied is retried with its id, and its jobs' leases are dated from
        // it; one that never reached the coordinator leased nothing: the next try is a new claim, dated
        // when it is sent (else, after an outage longer than a lease, its jobs look lapsed on arrival).
        if (neverReached(error)) this.unansweredClaim = undefined;
        throw error;
      }
      this.unansweredClaim = undefined;
      if (jobs.length === 0) return;
      this.poll?.reset();
      const { JobRunner } = await loadJobRunner();
      for (const claimed of jobs) {
        if (this.state !== "active") {
          await this.giveBack(claimed, claimedAt);
          continue;
        }
        const runner = new JobRunner(claimed, {
          client: this.client,
          factoryId: this.factoryId,
          workDir: this.config.workDir,
          engines: this.engines,
          env: childEnv(this.env),
          killGraceMs: this.config.killGrace,
          ...(this.sandbox ? { sandbox: this.sandbox } : {}),
          logger: this.logger,
          ...(this.metrics ? { metrics: this.metrics } : {}),
          claimedAt,
        });
        const stale = this.runners.get(runner.jobId);
        if (stale) {
          // its lease was reaped while it ran (e.g. this process was paused): the new epoch fences it
          this.logger.warn(
            { jobId: stale.jobId, epoch: stale.epoch, newEpoch: runner.epoch },
            "claimed a job this factory still runs at an older epoch; stopping the old run",
          );
          stale.superseded();
          this.retired.add(stale);
        }
        this.runners.set(runner.jobId, runner);
        this.logger.info({ jobId: runner.jobId, epoch: runner.epoch, attempt: claimed.job.attempt }, "claimed job");
        void runner.done.finally(() => {
          // a newer claim of the same job may hold the entry by now
          if (this.runners.get(runner.jobId) === runner) this.runners.delete(runner.jobId);
          this.retired.delete(runner);
          void this.heartbeat();
          this.claimSoon();
        });
      }
    }
  }

  /**
   * A job claimed while starting to drain goes straight back, with no attempt penalty. The release
   * is retried under the fence until the lease's deadline (a coordinator blip must not leave the
   * job to the reaper, which would count the attempt as lost); FENCED means it is not ours anyway.
   */
  private async giveBack(claimed: ClaimedJob, claimedAt: number): Promise<void> {
    const client = this.client;
    if (!client) return;
    const fence = { jobId: claimed.job._id, epoch: claimed.epoch, factoryId: this.factoryId };
    try {
      await fencedWrite(
        fence.jobId,
        () => client.trpc.factory.release.mutate({ ...fence, reason: "factory draining" }),
        { deadline: () => claimedAt + claimed.leaseTtlMs },
      );
      this.logger.info({ jobId: fence.jobId, epoch: fence.epoch }, "gave back a job claimed while draining");
    } catch (error) {
      if (error instanceof FencedSignal) return;
      this.logger.warn(
        { err: error, jobId: fence.jobId, epoch: fence.epoch },
        "could not give back a job claimed while draining; its lease will lapse",
      );
    }
  }

  private async heartbeat(): Promise<void> {
    if (!this.client || this.state === "closed") return;
    try {
      const disk = await statfs(this.config.workDir).catch(() => undefined);
      const answer = await this.client.trpc.factory.heartbeat.mutate({
        factoryId: this.factoryId,
        load: { running: this.runners.size, jobIds: this.runningJobs, loadAvg: loadavg()[0] ?? 0 },
        health: {
          ok: true,
          rssMb: Math.round(process.memoryUsage().rss / 1_048_576),
          ...(disk ? { freeDiskMb: Math.round((disk.bavail * disk.bsize) / 1_048_576) } : {}),
        },
      });
      if (answer.state === "draining" && this.state === "active") void this.drain();
    } catch (error) {
      this.logger.warn({ err: error }, "heartbeat failed");
    }
  }

  /** Stop claiming; running jobs get `drainGrace` to finish, then are checkpointed and released. */
  drain(graceMs = this.config.drainGrace): Promise<void> {
    this.drainStarted ??= (async () => {
      if (this.state === "active" || this.state === "starting") this.state = "draining";
      this.logger.info({ running: this.runningJobs, graceMs }, "draining");
      await this.claiming;
      const all = Promise.all([...this.runners.values(), ...this.retired].map((runner) => runner.done));
      const inTime = await Promise.race([
        all.then(() => true),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), graceMs).unref()),
      ]);
      if (!inTime) await Promise.all([...this.runners.values(), ...this.retired].map((runner) => runner.release()));
    })();
    return this.drainStarted;
  }

  /** Second signal: SIGKILL every running engine and gate process group now (synchronously), report nothing more. */
  kill(): void {
    for (const runner of [...this.runners.values(), ...this.retired]) runner.kill();
  }

  /** Drains, then disconnects. Idempotent; every step runs even if one fails. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed.abort();
      try {
        await this.drain();
      } catch (error) {
        this.logger.error({ err: error }, "drain failed");
      }
      this.state = "closed";
      for (const timer of this.timers) clearInterval(timer);
      this.poll?.stop();
      this.subscription?.unsubscribe();
      await this.client?.close().catch(() => undefined);
      await this.metricsServer?.close().catch(() => undefined);
      this.logger.info("factory stopped");
    })();
    return this.closing;
  }

  /** The same id across restarts on this host and work dir. */
  private async stableId(): Promise<string> {
    const file = join(this.config.workDir, "factory-id");
    const existing = (await readFile(file, "utf8").catch(() => "")).trim();
    if (existing) return existing;
    const id = `${defaultFactoryId()}-${Math.random().toString(36).slice(2, 8)}`;
    await writeFile(file, `${id}\n`, { mode: 0o600 });
    return id;
  }

  private async resolveEngines(): Promise<Map<string, Engine>> {
    const all = builtInEngines();
    const wanted = this.config.engines;
    const chosen = wanted
      ? all.filter((engine) => wanted.includes(engine.id))
      : await detectAvailableEngines(this.env.PATH);
    const unknown = wanted?.filter((id) => !all.some((engine) => engine.id === id)) ?? [];
    if (unknown.length)
      throw new Error(
        `unknown engine(s): ${unknown.join(", ")} (built in: ${all.map((engine) => engine.id).join(", ")})`,
      );
    return new Map(chosen.map((engine) => [engine.id, engine]));
  }
}

/**
 * The runner (workspaces, engines' output handling, artifacts) is loaded with the first claim,
 * not at start: an idle factory does not hold it in memory.
 */
let jobRunnerModule: Promise<typeof import("./runner/job-runner.js")> | undefined;
function loadJobRunner(): Promise<typeof import("./runner/job-runner.js")> {
  jobRunnerModule ??= import("./runner/job-runner.js");
  return jobRunnerModule;
}
