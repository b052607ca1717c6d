import { z } from "zod";
import { Reason } from "../primitives.js";
import { ScheduleAction, ScheduleId } from "../schedule.js";
import { Stage } from "../stages.js";

export const ScheduleRef = z.object({ id: ScheduleId }).strict();
export const SchedulePauseInput = z.object({ id: ScheduleId, note: Reason.optional() }).strict();
export const ScheduleListInput = z.object({ limit: z.number().int().min(1).max(500).default(100) }).strict();
export const ScheduleBackfillInput = z
  .object({ id: ScheduleId, from: z.coerce.date(), to: z.coerce.date() })
  .strict()
  .refine((range) => range.from <= range.to, { message: "to must not be before from", path: ["to"] });
export type ScheduleBackfillInput = z.input<typeof ScheduleBackfillInput>;

/** What `schedules.get` adds to a schedule: its next due times, and its last actions with their jobs' stages. */
export const ScheduleView = z.object({
  nextDueTimes: z.array(z.date()),
  recent: z.array(ScheduleAction.extend({ stage: Stage.optional() })),
});
