import type { Run, RunResult, TerminalStage } from "@gigafactory/schema";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { DURATION_BUCKETS_S, REQUEST_BUCKETS_S } from "./buckets.js";
import type { FleetSnapshot } from "./metrics.repository.js";

export interface FleetMetricsOptions {
  /** Off: every hook returns at once and `/metrics` is not served (the bench's baseline). */
  enabled: boolean;
  /** The database-derived gauges are read at most once per this many ms (`caches.metricsGaugesMs`). */
  gaugesCacheMs: number;
  /** The fleet snapshot (`MetricsRepository.snapshot`). */
  snapshot: () => Promise<FleetSnapshot>;
}

const seconds = (ms: number) => Math.max(0, ms / 1000);

/**
 * The coordinator's Prometheus metrics, on a registry of its own (never prom-client's global one,
 * so two coordinators in one process, as in tests, do not share counters). Labels come only from
 * bounded sets: result, engine, stage, state, procedure path and tRPC code; never a job, run or
 * item id. Counters count what this coordinator decided (sum them over coordinators); gauges are
 * read from MongoDB, so each coordinator reports the whole fleet.
 */
export class FleetMetrics {
  readonly registry = new Registry();
  readonly enabled: boolean;
  private readonly jobsCreated: Counter;
  private readonly jobsFinished: Counter<"result">;
  private readonly runsFinished: Counter<"engine" | "result">;
  private readonly leasesLost: Counter;
  private readonly writesFenced: Counter;
  private readonly tokens: Counter<"engine" | "type">;
  private readonly cost: Counter<"engine">;
  private readonly queueWait: Histogram;
  private readonly runDuration: Histogram<"engine" | "result">;
  private readonly dispatchLatency: Histogram;
  private readonly notifierLag: Histogram;
  private readonly requests: Counter<"procedure" | "type" | "code">;
  private readonly requestDuration: Histogram<"procedure" | "type">;
  private readonly subscriptions: Gauge<"procedure">;
  private cached: { at: number; value: Promise<FleetSnapshot> } | undefined;

  constructor(private readonly opts: FleetMetricsOptions) {
    this.enabled = opts.enabled;
    const registers = [this.registry];
    if (opts.enabled) collectDefaultMetrics({ register: this.registry });
    this.jobsCreated = new Counter({ name: "gigafactory_jobs_created_total", help: "Jobs created", registers });
    this.jobsFinished = new Counter({
      name: "gigafactory_jobs_finished_total",
      help: "Jobs that reached a terminal stage, by that stage",
      labelNames: ["result"],
      registers,
    });
    this.runsFinished = new Counter({
      name: "gigafactory_runs_finished_total",
      help: "Attempts (runs) ended, by engine and result",
      labelNames: ["engine", "result"],
      registers,
    });
    this.leasesLost = new Counter({
      name: "gigafactory_leases_lost_total",
      help: "Leases that expired and were taken back by a reaper",
      registers,
    });
    this.writesFenced = new Counter({
      name: "gigafactory_writes_fenced_total",
      help: "Factory writes refused because a newer epoch holds the job (FENCED)",
      registers,
    });
    this.tokens = new Counter({
      name: "gigafactory_tokens_total",
      help: "Model tokens used by finished runs, by engine and type (input, output, cached)",
      labelNames: ["engine", "type"],
      registers,
    });
    this.cost = new Counter({
      name: "gigafactory_cost_usd_total",
      help: "Model cost in US dollars of finished runs, by engine",
      labelNames: ["engine"],
      registers,
    });
    this.queueWait = new Histogram({
      name: "gigafactory_queue_wait_seconds",
      help: "Time a job waited in the inbox before a claim (from entering the inbox)",
      buckets: DURATION_BUCKETS_S,
      registers,
    });
    this.runDuration = new Histogram({
      name: "gigafactory_run_duration_seconds",
      help: "Run duration from claim to end, by engine and result",
      labelNames: ["engine", "result"],
      buckets: DURATION_BUCKETS_S,
      registers,
    });
    this.dispatchLatency = new Histogram({
      name: "gigafactory_dispatch_latency_seconds",
      help: "Time from a job's creation to a work nudge sent to a factory that can run it",
      buckets: DURATION_BUCKETS_S,
      registers,
    });
    this.notifierLag = new Histogram({
      name: "gigafactory_notifier_lag_seconds",
      help: "Age of events written through other coordinators when this one's tail delivers them",
      buckets: DURATION_BUCKETS_S,
      registers,
    });
    this.requests = new Counter({
      name: "gigafactory_requests_total",
      help: "tRPC calls by procedure, type and outcome code (OK or the tRPC error code)",
      labelNames: ["procedure", "type", "code"],
      registers,
    });
    this.requestDuration = new Histogram({
      name: "gigafactory_request_duration_seconds",
      help: "tRPC call latency by procedure (for subscriptions: until the stream is returned)",
      labelNames: ["procedure", "type"],
      buckets: REQUEST_BUCKETS_S,
      registers,
    });
    this.subscriptions = new Gauge({
      name: "gigafactory_subscriptions",
      help: "Subscriptions open on this coordinator, by procedure",
      labelNames: ["procedure"],
      registers,
    });
    this.fleetGauges(registers);
  }

  /** `jobs.create` stored a new job (not an idempotent repeat). */
  jobCreated(): void {
    if (this.enabled) this.jobsCreated.inc();
  }

  /** A job reached a terminal stage (the request that moved it settles it, once). */
  jobFinished(stage: TerminalStage): void {
    if (this.enabled) this.jobsFinished.inc({ result: stage });
  }

  /** A run was given its result: the one conditional write that ends it (`RunsRepository.finish`). */
  runFinished(run: Pick<Run, "engine" | "startedAt" | "endedAt" | "insights"> & { result?: RunResult }): void {
    if (!this.enabled || !run.result) return;
    const { engine, result, insights } = run;
    this.runsFinished.inc({ engine, result });
    if (run.endedAt)
      this.runDuration.observe({ engine, result }, seconds(run.endedAt.getTime() - run.startedAt.getTime()));
    if (insights.tokensIn) this.tokens.inc({ engine, type: "input" }, insights.tokensIn);
    if (insights.tokensOut) this.tokens.inc({ engine, type: "output" }, insights.tokensOut);
    if (insights.tokensCached) this.tokens.inc({ engine, type: "cached" }, insights.tokensCached);
    if (insights.costUsd) this.cost.inc({ engine }, insights.costUsd);
  }

  /** A reaper took an expired lease back. */
  leaseLost(): void {
    if (this.enabled) this.leasesLost.inc();
  }

  /** A factory write was answered FENCED. */
  writeFenced(): void {
    if (this.enabled) this.writesFenced.inc();
  }

  /** A job was claimed after waiting since `queuedAt`. */
  claimed(queuedAt: Date, now: Date): void {
    if (this.enabled) this.queueWait.observe(seconds(now.getTime() - queuedAt.getTime()));
  }

  /** A work nudge went to a factory because of a job created at `createdAt`. */
  dispatched(createdAt: Date): void {
    if (this.enabled) this.dispatchLatency.observe(seconds(Date.now() - createdAt.getTime()));
  }

  /** The notifier's tail delivered an event written at `at` by another coordinator. */
  tailed(at: Date): void {
    if (this.enabled) this.notifierLag.observe(seconds(Date.now() - at.getTime()));
  }

  /** A tRPC call ended (`code` is `OK` or the tRPC error code). */
  request(procedure: string, type: string, code: string, ms: number): void {
    if (!this.enabled) return;
    this.requests.inc({ procedure, type, code });
    this.requestDuration.observe({ procedure, type }, ms / 1000);
  }

  /** A subscription opened; the returned function closes it (idempotent). */
  subscriptionOpened(procedure: string): () => void {
    if (!this.enabled) return () => undefined;
    this.subscriptions.inc({ procedure });
    let open = true;
    return () => {
      if (open) this.subscriptions.dec({ procedure });
      open = false;
    };
  }

  /** The exposition text (Prometheus text format 0.0.4). */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /** The fleet snapshot, read at most once per `gaugesCacheMs` (scrapes of all gauges share one read). */
  private snapshot(): Promise<FleetSnapshot> {
    const now = Date.now();
    if (!this.cached || now - this.cached.at >= this.opts.gaugesCacheMs) {
      const value = this.opts.snapshot();
      this.cached = { at: now, value };
      // a failed read is not cached: the next scrape tries again
      value.catch(() => {
        if (this.cached?.value === value) this.cached = undefined;
      });
    }
    return this.cached.value;
  }

  /** Gauges read from MongoDB at scrape time; every label value is set on every scrape (0, never absent). */
  private fleetGauges(registers: Registry[]): void {
    const metrics = this;
    new Gauge({
      name: "gigafactory_jobs",
      help: "Jobs by stage, across the fleet (every stage present, 0 when empty)",
      labelNames: ["stage"],
      registers,
      async collect() {
        const snapshot = await metrics.snapshot();
        for (const [stage, count] of Object.entries(snapshot.jobsByStage)) this.set({ stage }, count);
      },
    });
    new Gauge({
      name: "gigafactory_queue_oldest_age_seconds",
      help: "Age of the oldest runnable job waiting in the inbox (0 when none)",
      registers,
      async collect() {
        const { oldestQueuedAt } = await metrics.snapshot();
        this.set(oldestQueuedAt ? seconds(Date.now() - oldestQueuedAt.getTime()) : 0);
      },
    });
    new Gauge({
      name: "gigafactory_factories",
      help: "Registered factories by state",
      labelNames: ["state"],
      registers,
      async collect() {
        const snapshot = await metrics.snapshot();
        for (const [state, count] of Object.entries(snapshot.factoriesByState)) this.set({ state }, count);
      },
    });
    new Gauge({
      name: "gigafactory_seats",
      help: "Seats of active factories: used (jobs held under a lease) and free",
      labelNames: ["state"],
      registers,
      async collect() {
        const { seatsTotal, seatsUsed } = await metrics.snapshot();
        this.set({ state: "used" }, seatsUsed);
        this.set({ state: "free" }, Math.max(0, seatsTotal - seatsUsed));
      },
    });
  }
}
