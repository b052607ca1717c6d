import { z } from "zod";
import { Epoch, JobId, Json } from "./primitives.js";
import { EventType, FactoryEventType } from "./stages.js";

/** Append-only; `(jobId, seq)` is unique and `seq` has no gaps within a job. */
export const JobEvent = z.object({
  productId: z.string(),
  jobId: JobId,
  seq: z.number().int().positive(),
  epoch: Epoch,
  type: EventType,
  at: z.date(),
  data: Json,
});
export type JobEvent = z.infer<typeof JobEvent>;

export const EVENT_LIMITS = { maxBatch: 500, maxDataBytes: 64 * 1024 } as const;

/** An event as a factory sends it; the coordinator assigns `seq` and `epoch`. */
export const NewEvent = z.object({
  type: FactoryEventType,
  at: z.coerce.date().optional(),
  // UTF-8 bytes, not UTF-16 code units: the limit is about what is stored and sent.
  data: Json.refine((data) => new TextEncoder().encode(JSON.stringify(data)).length <= EVENT_LIMITS.maxDataBytes, {
    message: `event data must be at most ${EVENT_LIMITS.maxDataBytes} bytes; upload large output as an artifact`,
  }),
});
export type NewEvent = z.infer<typeof NewEvent>;

const textOf = (value: unknown): string | undefined =>
  typeof value === "string" ? value : typeof value === "number" ? String(value) : undefined;

/** An event's text: its `line` (log events), else its `text` (messages), else its data as JSON. */
export function eventText(event: { data: Json }): string {
  return textOf(event.data.line) ?? textOf(event.data.text) ?? JSON.stringify(event.data);
}
