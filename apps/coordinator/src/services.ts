import type { Db } from "mongodb";
import { type Collections, collections } from "./db/collections.js";
import type { Logger } from "./logger.js";
import { InsightsService } from "./modules/admin/insights.service.js";
import { ArtifactsService } from "./modules/artifacts/artifacts.service.js";
import { BlobStore } from "./modules/artifacts/blob-store.js";
import { TokensService } from "./modules/auth/tokens.js";
import { EventLog } from "./modules/events/event-log.js";
import { EventsRepository } from "./modules/events/events.repository.js";
import { Notifier } from "./modules/events/notifier.js";
import { FactoriesRepository } from "./modules/factories/factories.repository.js";
import { FactoriesService } from "./modules/factories/factories.service.js";
import { JobsRepository } from "./modules/jobs/jobs.repository.js";
import { JobsService } from "./modules/jobs/jobs.service.js";
import { OutcomesService } from "./modules/jobs/outcomes.service.js";
import { ClaimsService } from "./modules/leases/claims.service.js";
import { LeasesService } from "./modules/leases/leases.service.js";
import { Reaper } from "./modules/leases/reaper.js";
import { ProfilesRepository } from "./modules/profiles/profiles.repository.js";

export interface ServicesConfig {
  leaseTtlMs: number;
  heartbeatMs: number;
  factoryGoneAfterMs: number;
  notifierPollMs: number;
  backoff: { baseMs: number; maxMs: number };
  artifactMaxBytes: number;
  blobDir: string;
}

/** Every service, wired once. Routers reach them through the tRPC context. */
export function createServices(db: Db, config: ServicesConfig, logger: Logger) {
  const cols: Collections = collections(db);
  const eventsRepository = new EventsRepository(cols);
  const notifier = new Notifier(eventsRepository, {
    pollMs: config.notifierPollMs,
    logger: logger.child({ module: "notifier" }),
  });
  const events = new EventLog(eventsRepository, notifier);
  const jobsRepository = new JobsRepository(cols);
  const factoriesRepository = new FactoriesRepository(cols);
  const profiles = new ProfilesRepository(cols);
  const outcomes = new OutcomesService(jobsRepository, cols, events);
  const common = { cols, jobs: jobsRepository, events, outcomes };
  return {
    config,
    cols,
    notifier,
    events,
    profiles,
    tokens: new TokensService(cols),
    jobs: new JobsService({ ...common, profiles, notifier }),
    factories: new FactoriesService(factoriesRepository, notifier),
    claims: new ClaimsService({
      ...common,
      factories: factoriesRepository,
      profiles,
      timing: { leaseTtlMs: config.leaseTtlMs },
      logger: logger.child({ module: "claims" }),
    }),
    leases: new LeasesService({ ...common, leaseTtlMs: config.leaseTtlMs, backoff: config.backoff }),
    reaper: new Reaper({
      ...common,
      factories: factoriesRepository,
      leaseTtlMs: config.leaseTtlMs,
      factoryGoneAfterMs: config.factoryGoneAfterMs,
      backoff: config.backoff,
      logger: logger.child({ module: "reaper" }),
    }),
    artifacts: new ArtifactsService({
      cols,
      blobs: new BlobStore(config.blobDir),
      events,
      maxBytes: config.artifactMaxBytes,
    }),
    insights: new InsightsService(cols),
  };
}

export type Services = ReturnType<typeof createServices>;
