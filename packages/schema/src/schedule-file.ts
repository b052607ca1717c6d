import { z } from "zod";
import type { JobCreate } from "./api/jobs.js";
import { Reason } from "./primitives.js";
import { OverlapPolicy, type ScheduleDefinitionInput, ScheduleId, ScheduleSpec } from "./schedule.js";

/**
 * A job file's `schedule:` key (`gf schedule apply file.md`): the file is the job template, the
 * key says when. Kebab-case like the rest of the frontmatter; one spec may be written inline
 * (`cron:`/`timezone:` or `every:`/`phase:`), several under `specs:`.
 */
export const JobFileSchedule = z
  .object({
    id: ScheduleId,
    cron: z.string().optional(),
    timezone: z.string().optional(),
    every: z.union([z.string(), z.number()]).optional(),
    phase: z.union([z.string(), z.number()]).optional(),
    specs: z.array(ScheduleSpec).optional(),
    start: z.coerce.date().optional(),
    end: z.coerce.date().optional(),
    jitter: z.union([z.string(), z.number()]).optional(),
    overlap: OverlapPolicy.optional(),
    "catch-up-window": z.union([z.string(), z.number()]).optional(),
    limit: z.number().int().positive().optional(),
    "pause-on-failure": z.boolean().optional(),
    paused: z.boolean().optional(),
    note: Reason.optional(),
  })
  .strict()
  .refine((key) => [key.cron, key.every, key.specs].filter((given) => given !== undefined).length === 1, {
    message: "give one of cron (with timezone), every (with phase) or a list under specs",
  });
export type JobFileSchedule = z.output<typeof JobFileSchedule>;

/** The `schedules.create` input of a job file: its `schedule:` key plus the job it describes. */
export function scheduleFromJobFile(key: JobFileSchedule, job: JobCreate): ScheduleDefinitionInput {
  const { idempotencyKey: _key, notBefore: _notBefore, ...template } = job;
  const { schedule: _schedule, ...manifest } = template.manifest;
  const inline =
    key.cron !== undefined
      ? { cron: key.cron, ...(key.timezone ? { timezone: key.timezone } : {}) }
      : { every: key.every as string | number, ...(key.phase !== undefined ? { phase: key.phase } : {}) };
  const optional = Object.entries({
    startAt: key.start,
    endAt: key.end,
    jitter: key.jitter,
    overlap: key.overlap,
    catchUpWindow: key["catch-up-window"],
    limit: key.limit,
    pauseOnFailure: key["pause-on-failure"],
    paused: key.paused,
    note: key.note,
  }).filter(([, value]) => value !== undefined);
  return {
    id: key.id,
    specs: key.specs ?? [inline as z.input<typeof ScheduleSpec>],
    job: { ...template, manifest },
    ...Object.fromEntries(optional),
  };
}
