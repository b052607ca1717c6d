import { z } from "zod";
import { Cursor } from "./jobs.js";
import { FactoryDescriptor, FactoryState } from "../factory.js";
import { Capability, EngineId, FactoryId, JobId, ProductId, Role } from "../primitives.js";
import { Stage } from "../stages.js";

/** A job in an active stage, as the dashboard's "running now" shows it. */
export const RunningJob = z.object({
  jobId: JobId,
  title: z.string(),
  stage: Stage,
  engine: EngineId,
  factoryId: FactoryId.nullable(),
  /** When it entered the active stages (its last `updatedAt` before it is claimed). */
  since: z.date(),
});
export type RunningJob = z.infer<typeof RunningJob>;

/** A factory as service and admin tokens see it on the dashboard: no token binding. */
export const FactorySummary = z.object({
  factoryId: FactoryId,
  state: FactoryState,
  descriptor: FactoryDescriptor,
  capabilities: z.array(Capability),
  engines: z.array(EngineId),
  seatLimit: z.number().int().positive(),
  running: z.number().int().nonnegative(),
  lastHeartbeatAt: z.date(),
  registeredAt: z.date(),
  healthy: z.boolean(),
});
export type FactorySummary = z.infer<typeof FactorySummary>;

/** Counts computed in MongoDB (`dashboard.overview`): never by loading every job. */
export const DashboardOverview = z.object({
  at: z.date(),
  byStage: z.record(Stage, z.number().int().nonnegative()),
  queue: z.object({ depth: z.number().int().nonnegative(), oldestQueuedAt: z.date().nullable() }),
  running: z.array(RunningJob),
  factories: z.array(FactorySummary),
  /** How long without a heartbeat before the dashboard calls a factory stale (its lease heartbeat × 3). */
  staleAfterMs: z.number().int().positive(),
});
export type DashboardOverview = z.infer<typeof DashboardOverview>;

export const DashboardFactories = z.object({
  at: z.date(),
  factories: z.array(FactorySummary),
  staleAfterMs: z.number().int().positive(),
});
export type DashboardFactories = z.infer<typeof DashboardFactories>;

/** Who the token is, so the dashboard offers only what its role may do. */
export const WhoAmI = z.object({ role: Role, productId: ProductId });
export type WhoAmI = z.infer<typeof WhoAmI>;

/**
 * Jobs whose title holds `text` (any case) or whose idempotency key or id is `text`, newest
 * first, a page at a time (the cursor of `jobs.list`).
 */
export const JobSearchInput = z
  .object({
    text: z.string().trim().min(1).max(200),
    limit: z.number().int().min(1).max(200).default(50),
    cursor: Cursor.optional(),
  })
  .strict();
export type JobSearchInput = z.input<typeof JobSearchInput>;
