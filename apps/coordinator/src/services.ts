import type { Db } from "mongodb";
import { type Collections, collections } from "./db/collections.js";
import type { Logger } from "./logger.js";
import { type TimingOptions, reapEvery } from "./options.js";
import { Recovery } from "./modules/runs/recovery.js";
import { InsightsService } from "./modules/admin/insights.service.js";
import { DashboardRepository } from "./modules/dashboard/dashboard.repository.js";
import { DashboardService } from "./modules/dashboard/dashboard.service.js";
import { ArtifactsRepository } from "./modules/artifacts/artifacts.repository.js";
import { ArtifactsService } from "./modules/artifacts/artifacts.service.js";
import { BlobStore, BlobSweeper } from "./modules/artifacts/blob-store.js";
import { RateLimiter } from "./modules/auth/rate-limiter.js";
import { TokensService } from "./modules/auth/tokens.js";
import { TokensRepository } from "./modules/auth/tokens.repository.js";
import { EventLog } from "./modules/events/event-log.js";
import { EventsRepository } from "./modules/events/events.repository.js";
import { Notifier } from "./modules/events/notifier.js";
import { feedReader } from "./modules/jobs/feed-stream.js";
import { FactoriesRepository } from "./modules/factories/factories.repository.js";
import { FactoriesService } from "./modules/factories/factories.service.js";
import { JobsRepository } from "./modules/jobs/jobs.repository.js";
import { JobsService } from "./modules/jobs/jobs.service.js";
import { OutcomesService } from "./modules/jobs/outcomes.service.js";
import { ClaimsService } from "./modules/leases/claims.service.js";
import { LeasesService } from "./modules/leases/leases.service.js";
import { Reaper } from "./modules/leases/reaper.js";
import { LocksRepository } from "./modules/locks/locks.repository.js";
import { ProfilesRepository } from "./modules/profiles/profiles.repository.js";
import { ProfilesService } from "./modules/profiles/profiles.service.js";
import { RunsRepository } from "./modules/runs/runs.repository.js";
import { createSchedules } from "./modules/schedules/wiring.js";
import { PolicyRepository } from "./modules/policy/policy.repository.js";
import { PolicyService } from "./modules/policy/policy.service.js";
import { TrackerRepository } from "./modules/tracker/tracker.repository.js";
import { TrackerService } from "./modules/tracker/tracker.service.js";
import type { TrackerSetup } from "./modules/tracker/tracker.setup.js";
import { PeriodicTask } from "./periodic-task.js";
import { FleetMetrics } from "./modules/metrics/fleet-metrics.js";
import { MetricsRepository } from "./modules/metrics/metrics.repository.js";
import { StatusService } from "./modules/metrics/status.service.js";
import { NudgeRouter } from "./modules/factories/nudge-router.js";

export interface ServicesConfig {
  /** Every timing rule (options.ts, with the environment's values filled in). */
  timings: TimingOptions;
  leaseTtlMs: number;
  heartbeatMs: number;
  factoryGoneAfterMs: number;
  notifierPollMs: number;
  backoff: { baseMs: number; maxMs: number };
  artifactMaxBytes: number;
  blobDir: string;
  /** Trackers and the webhook route (modules/tracker/tracker.setup.ts); none when absent. */
  tracker?: TrackerSetup;
  /** Prometheus metrics (`GF_METRICS`, default on); off, every hook is a no-op. */
  metricsEnabled?: boolean;
  /** What the MongoDB launcher chose (`mongod`, `stand-in`, `external`), for `admin.status`. */
  mongoBackend?: string | undefined;
}

/** One repository per collection: the only code that speaks MongoDB (besides `db/`). */
export function createRepositories(cols: Collections, metrics?: FleetMetrics) {
  return {
    jobs: new JobsRepository(cols),
    runs: new RunsRepository(cols, metrics && ((run) => metrics.runFinished(run))),
    events: new EventsRepository(cols),
    factories: new FactoriesRepository(cols),
    profiles: new ProfilesRepository(cols),
    artifacts: new ArtifactsRepository(cols),
    locks: new LocksRepository(cols),
    tokens: new TokensRepository(cols),
    tracker: new TrackerRepository(cols),
    policies: new PolicyRepository(cols),
  };
}

export type Repositories = ReturnType<typeof createRepositories>;

/** Every service, wired once. Routers reach them through the tRPC context. */
export function createServices(db: Db, config: ServicesConfig, logger: Logger) {
  const cols: Collections = collections(db);
  const fleet = new MetricsRepository(cols);
  const metrics = new FleetMetrics({
    enabled: config.metricsEnabled ?? true,
    gaugesCacheMs: config.timings.caches.metricsGaugesMs,
    snapshot: () => fleet.snapshot(),
  });
  const repos = createRepositories(cols, metrics);
  const notifier = new Notifier(repos.events, {
    ...config.timings.notifier,
    pollMs: config.notifierPollMs,
    onTailed: (event) => metrics.tailed(event.at),
    logger: logger.child({ module: "notifier" }),
  });
  const events = new EventLog(repos.events, notifier);
  const recovery = new Recovery({ runs: repos.runs, events });
  const outcomes = new OutcomesService({
    metrics,
    jobs: repos.jobs,
    locks: repos.locks,
    events,
    parentGraceMs: config.timings.lease.settleGraceMs,
    recovery,
  });
  const common = { jobs: repos.jobs, runs: repos.runs, events, outcomes };
  const blobs = new BlobStore(config.blobDir);
  const policy = new PolicyService(repos.policies);
  const jobs = new JobsService({ ...common, profiles: repos.profiles, notifier, policy, metrics });
  const factories = new FactoriesService(repos.factories, notifier, repos.tokens, {
    claimCacheMs: config.timings.caches.claimFactoryMs,
  });
  const tracker = new TrackerService({
    repo: repos.tracker,
    jobs,
    policy,
    adapters: config.tracker?.adapters ?? [],
    timings: config.timings.tracker,
    logger: logger.child({ module: "tracker" }),
    dashboardUrl: config.tracker?.dashboardUrl,
  });
  return {
    config,
    /** Prometheus metrics (`modules/metrics`): served at `/metrics`, fed by the hooks in the services. */
    metrics,
    /** `admin.status` (`gf status`). */
    status: new StatusService({ fleet, mongoBackend: config.mongoBackend }),
    /** For `ensureIndexes` at start-up only; everything else goes through a repository. */
    cols,
    notifier,
    /** Which connected factories hear `work` for a claimable job (factories/nudge-router.ts). */
    nudges: new NudgeRouter({
      notifier,
      send: (p, ids) => notifier.nudge(p, ids),
      options: config.timings.streams,
      metrics,
    }),
    events,
    /** What `jobs.feed` reads (feed-stream.ts). */
    feed: feedReader(repos.events, config.timings.streams.feedReadTimeoutMs),
    profiles: new ProfilesService(repos.profiles),
    tokens: new TokensService(repos.tokens),
    /** Calls per token (`limits.rateLimits`): the tRPC middleware and the artifact routes take from it. */
    rateLimiter: new RateLimiter(config.timings.limits.rateLimits),
    jobs,
    ...createSchedules({
      cols,
      jobRepo: repos.jobs,
      jobs,
      options: config.timings.schedules,
      logger: logger.child({ module: "schedules" }),
    }),
    policy,
    tracker,
    /** What `POST /webhooks/github` needs (http/routes.ts); absent without a tracker setup. */
    trackerWebhook: config.tracker ? { config: config.tracker.webhook, repo: repos.tracker, tracker } : undefined,
    /** The echo outbox and the sweep of queued webhook deliveries, on every coordinator. */
    trackerWorker: new PeriodicTask({
      everyMs: config.timings.tracker.everyMs,
      run: async () => {
        while (await tracker.runDelivery()) {}
        return tracker.outboxPass();
      },
      logger: logger.child({ module: "tracker" }),
      failure: "tracker pass failed",
    }),
    /** The polling safety net (GF_GITHUB_REPOS), with jitter; started only when something is polled. */
    trackerPoller: config.tracker?.polled.length
      ? new PeriodicTask({
          everyMs: config.timings.tracker.pollEveryMs,
          run: async () => {
            const { pollEveryMs, pollJitter } = config.timings.tracker;
            await new Promise((resolve) => setTimeout(resolve, Math.random() * pollEveryMs * pollJitter));
            return tracker.poll(config.tracker?.webhook.productId ?? "default", config.tracker?.polled ?? []);
          },
          logger: logger.child({ module: "tracker" }),
          failure: "tracker poll failed",
        })
      : undefined,
    factories,
    claims: new ClaimsService({
      ...common,
      locks: repos.locks,
      factories,
      notifier,
      locksCacheMs: config.timings.caches.claimLocksMs,
      seatsCacheMs: config.timings.caches.claimSeatsMs,
      profiles: repos.profiles,
      timing: { leaseTtlMs: config.leaseTtlMs },
      maxLockRetries: config.timings.lease.maxLockRetries,
      metrics,
      logger: logger.child({ module: "claims" }),
    }),
    leases: new LeasesService({ ...common, leaseTtlMs: config.leaseTtlMs, backoff: config.backoff }),
    reaper: new Reaper({
      ...common,
      locks: repos.locks,
      factories,
      recovery,
      leaseTtlMs: config.leaseTtlMs,
      everyMs: reapEvery(config.leaseTtlMs),
      settleGraceMs: config.timings.lease.settleGraceMs,
      factoryGoneAfterMs: config.factoryGoneAfterMs,
      backoff: config.backoff,
      metrics,
      logger: logger.child({ module: "reaper" }),
    }),
    artifacts: new ArtifactsService({
      jobs: repos.jobs,
      artifacts: repos.artifacts,
      blobs,
      events,
      maxBytes: config.artifactMaxBytes,
    }),
    blobSweeper: new BlobSweeper({
      blobs,
      referenced: (uris) => repos.artifacts.referencedUris(uris),
      ages: config.timings.blobs,
      everyMs: config.timings.blobs.sweepEveryMs,
      logger: logger.child({ module: "blobs" }),
    }),
    dashboard: new DashboardService(new DashboardRepository(cols), {
      ...config.timings.dashboard,
      heartbeatMs: config.heartbeatMs,
    }),
    insights: new InsightsService({
      jobs: repos.jobs,
      runs: repos.runs,
      maxRuns: config.timings.caches.insightsMaxRuns,
    }),
  };
}

export type Services = ReturnType<typeof createServices>;
