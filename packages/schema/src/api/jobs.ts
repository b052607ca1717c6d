import { z } from "zod";
import { Duration } from "../duration.js";
import { DepsMode, JOB_LIMITS, JobKind, Review, VerifyCommand } from "../job.js";
import { Capability, EngineId, JobId, Json, Name, ProductId, Reason } from "../primitives.js";
import { Run } from "../run.js";
import { JobEvent } from "../event.js";
import { Stage } from "../stages.js";

const utf8Bytes = (text: string) => new TextEncoder().encode(text).length;

/** What `jobs.create` takes. Unknown keys are refused; a job file's own keys go in `manifest`. */
export const JobCreateInput = z
  .object({
    /** Same key in the same product → the existing job. Absent: a fresh key per call. */
    idempotencyKey: z.string().min(1).max(256).optional(),
    title: z.string().max(JOB_LIMITS.titleMax).optional(),
    bodyMd: z.string().refine((body) => utf8Bytes(body) <= JOB_LIMITS.bodyMdMaxBytes, {
      message: `must be at most ${JOB_LIMITS.bodyMdMaxBytes} bytes`,
    }),
    engine: EngineId.default("shell"),
    engineClass: z.string().max(64).optional(),
    command: z.string().max(4_000).optional(),
    /** Without a version the newest published version is pinned at create time. */
    profile: z.object({ name: Name, version: z.number().int().positive().optional() }).strict().optional(),
    priority: z.number().int().min(-1_000).max(1_000).default(0),
    capabilities: z.array(Capability).max(JOB_LIMITS.maxCapabilities).default([]),
    /** Job ids or idempotency keys of jobs in the same product. */
    deps: z.array(z.string().min(1).max(256)).max(JOB_LIMITS.maxDeps).default([]),
    depsMode: DepsMode.default("all"),
    parentId: JobId.optional(),
    kind: JobKind.default("leaf"),
    lock: Name.optional(),
    timeoutMs: z.number().int().positive().max(JOB_LIMITS.maxTimeoutMs).optional(),
    maxAttempts: z.number().int().positive().max(JOB_LIMITS.maxAttempts).optional(),
    notBefore: z.coerce.date().optional(),
    verify: z.array(VerifyCommand).max(JOB_LIMITS.maxVerify).default([]),
    review: Review.default({ mode: "none" }),
    repo: z.string().max(1_000).optional(),
    baseRef: z.string().max(256).optional(),
    cwd: z.string().max(1_000).optional(),
    /** `false`: the engine and gates run with no network (default true). */
    network: z.boolean().optional(),
    trackerItemId: z.string().max(256).optional(),
    manifest: Json.default({}),
  })
  .strict();
export type JobCreateInput = z.input<typeof JobCreateInput>;
export type JobCreate = z.output<typeof JobCreateInput>;

export const JobRef = z.object({ jobId: JobId }).strict();
export type JobRef = z.infer<typeof JobRef>;

/** Opaque pagination cursor (base64url); the coordinator rejects one it did not make. */
export const Cursor = z
  .string()
  .min(1)
  .max(512)
  .regex(/^[A-Za-z0-9_-]+$/, "malformed cursor");

export const JobListInput = z
  .object({
    stage: z.union([Stage, z.array(Stage).min(1).max(7)]).optional(),
    engine: EngineId.optional(),
    profile: Name.optional(),
    trackerItemId: z.string().max(256).optional(),
    parentId: JobId.optional(),
    limit: z.number().int().min(1).max(200).default(50),
    cursor: Cursor.optional(),
    /** Admins only: list another product. */
    productId: ProductId.optional(),
  })
  .strict();
export type JobListInput = z.input<typeof JobListInput>;

export const JobCancelInput = z.object({ jobId: JobId, reason: Reason.optional() }).strict();
/** Closes a composite parent's set of children; it ships (or fails) once they have all finished. */
export const JobSealInput = z.object({ jobId: JobId }).strict();
export const JobRetryInput = z.object({ jobId: JobId }).strict();
export const JobDecisionInput = z.object({ jobId: JobId, note: Reason.optional() }).strict();

export const JobEventsInput = z
  .object({
    jobId: JobId,
    /** Events with `seq` greater than this. */
    afterSeq: z.number().int().nonnegative().default(0),
    limit: z.number().int().min(1).max(1_000).default(200),
  })
  .strict();
export type JobEventsInput = z.input<typeof JobEventsInput>;

export const JobEventsOutput = z.object({ items: z.array(JobEvent), nextSeq: z.number().int().nonnegative() });

export const JobWatchInput = z
  .object({
    jobId: JobId,
    /** The last `tracked` id seen (an event seq); tRPC fills it in on reconnect. */
    lastEventId: z.string().regex(/^\d+$/).nullish(),
  })
  .strict();
export type JobWatchInput = z.input<typeof JobWatchInput>;

export const JobRunsOutput = z.array(Run);

export const FeedInput = z.object({ lastEventId: z.string().max(64).nullish() }).strict();
/** One line of the fleet-wide feed for dashboards. */
export const FeedItem = z.object({
  jobId: JobId,
  seq: z.number().int().positive(),
  type: z.string(),
  at: z.date(),
  stage: Stage.optional(),
});
export type FeedItem = z.infer<typeof FeedItem>;

export { Duration };
