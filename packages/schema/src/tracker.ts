import { z } from "zod";
import { JobId } from "./primitives.js";

/**
 * A tracker item's reference, as written on the command line and stored on the job as
 * `trackerItemId`: `github:owner/repo#123` (a GitHub issue) or `items:T-1` (the predecessor's
 * Items API). Parsed by `parseTrackerRef`.
 */
export const TrackerRef = z
  .string()
  .max(256)
  .regex(
    /^(github:[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}#[1-9][0-9]{0,9}|items:[A-Za-z0-9][A-Za-z0-9_.:-]{0,127})$/,
    "must be github:owner/repo#123 or items:<id>",
  );
export type TrackerRef = z.infer<typeof TrackerRef>;

export type ParsedTrackerRef =
  | { kind: "github"; owner: string; repo: string; number: number }
  | { kind: "items"; id: string };

/** Splits a reference into its parts; undefined when it is not one. */
export function parseTrackerRef(ref: string): ParsedTrackerRef | undefined {
  if (!TrackerRef.safeParse(ref).success) return undefined;
  const github = /^github:([^/]+)\/([^#]+)#(\d+)$/.exec(ref);
  if (github?.[1] && github[2] && github[3])
    return { kind: "github", owner: github[1], repo: github[2], number: Number(github[3]) };
  return { kind: "items", id: ref.slice("items:".length) };
}

/** The idempotency key of the job imported from an item: one job per item, however often it arrives. */
export function trackerIdempotencyKey(ref: string): string {
  return `tracker-${ref}`;
}

/** What the tracker is told about a job: the predecessor's three states (seed 001). */
export const EchoState = z.enum(["in_progress", "done", "blocked"]);
export type EchoState = z.infer<typeof EchoState>;

/** An item as every adapter returns it. */
export const TrackerItem = z.object({
  ref: TrackerRef,
  title: z.string(),
  body: z.string(),
  labels: z.array(z.string()),
  /** The tracker's own state (`open`/`closed`, or the Items API's status). */
  state: z.string(),
  url: z.string().optional(),
});
export type TrackerItem = z.infer<typeof TrackerItem>;

export const TrackerImportInput = z.object({ ref: TrackerRef }).strict();
export const TrackerEchoInput = z.object({ jobId: JobId }).strict();

/** The answer of `tracker.echo`: what was sent, or why nothing was. */
export const TrackerEchoOutput = z.object({
  jobId: JobId,
  ref: z.string(),
  state: EchoState.nullable(),
  sent: z.boolean(),
  reason: z.string().optional(),
});
export type TrackerEchoOutput = z.infer<typeof TrackerEchoOutput>;
