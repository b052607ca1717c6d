import { createHash } from "node:crypto";
import type { ScheduleDefinition, ScheduleSpec } from "@gigafactory/schema";
import { Cron } from "croner";
import { InvalidInputError } from "../../errors.js";

/**
 * When a schedule is due: pure functions over its definition, no clock of their own.
 *
 * Cron specs are computed by croner in the spec's time zone (default UTC). Across daylight-saving
 * changes (tested in next-times.test.ts with America/New_York):
 * - a wall-clock time that does not exist (02:30 on the spring-forward day) fires once, at the
 *   instant it would have had without the change (03:30 local: one hour after 01:30);
 * - a wall-clock time that happens twice (01:30 on the fall-back day) fires once, at its first
 *   occurrence (daylight time).
 * Interval specs count from the Unix epoch plus `phase` and ignore time zones altogether.
 */

/** A compiled spec: the first due time strictly after `after`, or null when there is none. */
type NextFn = (after: Date) => Date | null;

/** Compiles each spec once; a cron expression croner refuses is an `InvalidInputError` naming it. */
export function compile(specs: readonly ScheduleSpec[]): NextFn[] {
  return specs.map((spec, index): NextFn => {
    if ("cron" in spec) {
      let cron: Cron;
      try {
        cron = new Cron(spec.cron, { timezone: spec.timezone ?? "UTC", paused: true });
      } catch (error) {
        throw new InvalidInputError(`specs.${index}.cron`, `"${spec.cron}": ${(error as Error).message}`);
      }
      return (after) => cron.nextRun(after);
    }
    const phase = spec.phase ?? 0;
    return (after) => new Date(phase + (Math.floor((after.getTime() - phase) / spec.every) + 1) * spec.every);
  });
}

type Timing = Pick<ScheduleDefinition, "specs" | "startAt" | "endAt">;

/** The first due time strictly after `after` of any spec, within `startAt`..`endAt`. */
export function nextDue(def: Timing, after: Date, compiled: NextFn[] = compile(def.specs)): Date | null {
  const from = def.startAt && after < def.startAt ? new Date(def.startAt.getTime() - 1) : after;
  let best: Date | null = null;
  for (const next of compiled) {
    const at = next(from);
    if (at && (!best || at < best)) best = at;
  }
  return best && def.endAt && best > def.endAt ? null : best;
}

/** The next `count` due times strictly after `after`. */
export function nextDueTimes(def: Timing, after: Date, count: number): Date[] {
  const compiled = compile(def.specs);
  const times: Date[] = [];
  let at = nextDue(def, after, compiled);
  while (at && times.length < count) {
    times.push(at);
    at = nextDue(def, at, compiled);
  }
  return times;
}

/** Every due time in `from`..`to` (both included), at most `max`; null when there are more. */
export function dueTimesIn(def: Timing, from: Date, to: Date, max: number): Date[] | null {
  const compiled = compile(def.specs);
  const times: Date[] = [];
  let at = nextDue(def, new Date(from.getTime() - 1), compiled);
  while (at && at <= to) {
    if (times.length === max) return null;
    times.push(at);
    at = nextDue(def, at, compiled);
  }
  return times;
}

/** What to do with a schedule whose `nextDueAt` has come. */
export interface FirePlan {
  /** The due time to fire now, if any is within the catch-up window. */
  fire: Date | null;
  /** Due times older than the window: counted, never fired. */
  missed: number;
  /** The new `nextDueAt`. */
  next: Date | null;
}

/** The most due times one plan steps over when counting misses (a long outage of an every-second schedule). */
export const MAX_MISSED_STEPS = 1_000_000;

/**
 * Given the due time `nextDueAt <= now`: due times older than `now - catchUpWindow` are missed;
 * the first one inside the window is fired; `next` is the one after it.
 */
export function plan(def: Timing & { catchUpWindow: number }, nextDueAt: Date, now: Date): FirePlan {
  const compiled = compile(def.specs);
  const oldest = now.getTime() - def.catchUpWindow;
  let due: Date | null = nextDueAt;
  let missed = 0;
  while (due && due.getTime() < oldest && missed < MAX_MISSED_STEPS) {
    missed++;
    due = nextDue(def, due, compiled);
  }
  if (due && due.getTime() < oldest) {
    // so many misses that counting them all is not worth it: jump to the window
    due = nextDue(def, new Date(oldest - 1), compiled);
  }
  if (!due || due > now) return { fire: null, missed, next: due };
  return { fire: due, missed, next: nextDue(def, due, compiled) };
}

/** The delay added to a due time's job (`notBefore`): fixed per schedule and due time, below `jitterMs`. */
export function jitterFor(key: string, dueAt: Date, jitterMs: number): number {
  if (jitterMs <= 0) return 0;
  const digest = createHash("sha256").update(`${key}@${dueAt.toISOString()}`).digest();
  return digest.readUInt32BE(0) % jitterMs;
}

/** The idempotency key of the job fired for one due time: a retried firing finds the same job. */
export function firingKey(scheduleId: string, dueAt: Date): string {
  return `schedule:${scheduleId}:${dueAt.toISOString()}`;
}
