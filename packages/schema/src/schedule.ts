import { z } from "zod";
import { JobCreateInput } from "./api/jobs.js";
import { Duration } from "./duration.js";
import { JobId, ProductId, Reason } from "./primitives.js";

/** Bounds on one schedule, so a definition cannot make a coordinator do unbounded work. */
export const SCHEDULE_LIMITS = {
  maxSpecs: 20,
  /** The shortest interval (and so the densest cron a test can name is every second). */
  minIntervalMs: 1_000,
  maxJitterMs: 24 * 3_600_000,
  maxCatchUpWindowMs: 366 * 24 * 3_600_000,
  /** The most due times one `schedules.backfill` fires. */
  maxBackfill: 1_000,
  /** How many of the last actions a schedule keeps. */
  recentActions: 20,
} as const;

export const DEFAULT_CATCH_UP_WINDOW_MS = 3_600_000;

/** A schedule's id, chosen by its author: re-applying the same id updates it instead of adding one. */
export const ScheduleId = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "must be letters, digits, . _ - (starting with a letter or digit)");
export type ScheduleId = z.infer<typeof ScheduleId>;

/** An IANA time zone the runtime knows (`Europe/Berlin`, `UTC`). */
export const TimeZone = z
  .string()
  .min(1)
  .max(64)
  .refine(
    (zone) => {
      try {
        new Intl.DateTimeFormat("en-US", { timeZone: zone });
        return true;
      } catch {
        return false;
      }
    },
    { message: "must be an IANA time zone such as Europe/Berlin or UTC" },
  );

/**
 * A cron expression: 5 fields (minute first) or 6 (seconds first), read in `timezone` (default
 * UTC). The coordinator checks the expression itself with its cron library and names what is wrong.
 */
export const CronSpec = z
  .object({
    cron: z
      .string()
      .trim()
      .min(1)
      .max(200)
      .refine((text) => [5, 6].includes(text.split(/\s+/).length), {
        message: "must have 5 fields (minute hour day month weekday) or 6 (seconds first)",
      }),
    timezone: TimeZone.optional(),
  })
  .strict();
export type CronSpec = z.infer<typeof CronSpec>;

/** Every `every` from the Unix epoch, shifted by `phase` (`every: 1h, phase: 15m` → hh:15). */
export const IntervalSpec = z
  .object({
    every: Duration.pipe(
      z.number().min(SCHEDULE_LIMITS.minIntervalMs, `must be at least ${SCHEDULE_LIMITS.minIntervalMs} ms`),
    ),
    phase: Duration.optional(),
  })
  .strict()
  .refine((spec) => spec.phase === undefined || spec.phase < spec.every, {
    message: "phase must be shorter than every",
    path: ["phase"],
  });
export type IntervalSpec = z.infer<typeof IntervalSpec>;

export const ScheduleSpec = z.union([CronSpec, IntervalSpec], {
  error: "each spec is either { cron, timezone? } or { every, phase? }",
});
export type ScheduleSpec = z.infer<typeof ScheduleSpec>;

/** `skip`: not while the last fired job is unfinished; `bufferOne`: keep one to fire when it ends; `allowAll`; `cancelOther`: cancel it and fire. */
export const OverlapPolicy = z.enum(["skip", "bufferOne", "allowAll", "cancelOther"]);
export type OverlapPolicy = z.infer<typeof OverlapPolicy>;

/** What a fired job is made from: everything `jobs.create` takes but its key and `notBefore`, which each firing sets. */
export const JobTemplate = JobCreateInput.omit({ idempotencyKey: true, notBefore: true });
export type JobTemplate = z.output<typeof JobTemplate>;

/** A schedule as its author writes it (`schedules.create`/`update`, a job file's `schedule:` key). */
export const ScheduleDefinition = z
  .object({
    id: ScheduleId,
    specs: z.array(ScheduleSpec).min(1, "needs at least one spec").max(SCHEDULE_LIMITS.maxSpecs),
    startAt: z.coerce.date().optional(),
    endAt: z.coerce.date().optional(),
    /** Each fired job's `notBefore` is its due time plus up to this much (fixed per due time). */
    jitter: Duration.pipe(z.number().max(SCHEDULE_LIMITS.maxJitterMs)).default(0),
    job: JobTemplate,
    overlap: OverlapPolicy.default("skip"),
    /** Due times missed by more than this (a coordinator down, the schedule paused) are counted, not fired. */
    catchUpWindow: Duration.pipe(z.number().max(SCHEDULE_LIMITS.maxCatchUpWindowMs)).default(
      DEFAULT_CATCH_UP_WINDOW_MS,
    ),
    /** Stop after this many fired jobs. */
    limit: z.number().int().positive().optional(),
    /** Pause (with a note) when a fired job failed, instead of firing the next one. */
    pauseOnFailure: z.boolean().default(false),
    paused: z.boolean().default(false),
    note: Reason.optional(),
  })
  .strict()
  .refine((def) => !def.startAt || !def.endAt || def.startAt < def.endAt, {
    message: "endAt must be after startAt",
    path: ["endAt"],
  });
export type ScheduleDefinitionInput = z.input<typeof ScheduleDefinition>;
export type ScheduleDefinition = z.output<typeof ScheduleDefinition>;

export const ScheduleActionKind = z.enum(["scheduled", "trigger", "backfill", "skipped", "buffered", "failed"]);
export type ScheduleActionKind = z.infer<typeof ScheduleActionKind>;

/** One thing a schedule did for a due time. */
export const ScheduleAction = z.object({
  dueAt: z.date(),
  at: z.date(),
  kind: ScheduleActionKind,
  jobId: JobId.optional(),
  error: Reason.optional(),
});
export type ScheduleAction = z.infer<typeof ScheduleAction>;

/** A due time being fired: whoever holds it until `until` creates its job; after that anyone may retry it. */
export const ScheduleFiring = z.object({ dueAt: z.date(), holder: z.string(), until: z.date() });

/** The stored schedule (collection `schedules`, `_id` = `<productId>/<id>`). */
export const Schedule = z.object({
  _id: z.string(),
  productId: ProductId,
  id: ScheduleId,
  definition: ScheduleDefinition,
  paused: z.boolean(),
  note: Reason.optional(),
  /** The next due time not yet handled; null once past `endAt` or the limit. */
  nextDueAt: z.date().nullable(),
  /** When a coordinator must next look at it: `nextDueAt`, a firing's lease end, a buffered re-check. */
  attentionAt: z.date().nullable(),
  firing: ScheduleFiring.nullable(),
  /** `bufferOne`: the due time waiting for the running job to end. */
  buffered: z.date().nullable(),
  lastJobId: JobId.nullable(),
  /** `pauseOnFailure`: the failed job that paused it, so a resume does not pause again for the same one. */
  pausedForJobId: JobId.nullable(),
  /** Jobs fired (scheduled, triggered, backfilled). */
  actions: z.number().int().nonnegative(),
  /** Due times missed by more than the catch-up window. */
  missed: z.number().int().nonnegative(),
  /** Due times skipped by the overlap policy. */
  skipped: z.number().int().nonnegative(),
  recent: z.array(ScheduleAction),
  /** Compare-and-set counter: every claim and edit increments it. */
  rev: z.number().int().nonnegative(),
  createdAt: z.date(),
  updatedAt: z.date(),
});
export type Schedule = z.infer<typeof Schedule>;
