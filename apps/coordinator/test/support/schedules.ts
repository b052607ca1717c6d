import type { Job, Schedule } from "@gigafactory/schema";
import type { Harness } from "./harness.js";

/** The jobs a schedule fired, read straight from the database, oldest due time first. */
export async function firedJobs(h: Harness, scheduleId: string): Promise<Job[]> {
  const jobs = await h.db.collection<Job>("jobs").find({ scheduleId }).toArray();
  return jobs.sort((a, b) => dueOf(a) - dueOf(b));
}

/** The due time a fired job's idempotency key names (`schedule:<id>:<ISO time>`). */
export function dueOf(job: Job): number {
  // schedule ids hold no ':', so the due time starts after the second one
  return Date.parse(job.idempotencyKey.slice(job.idempotencyKey.indexOf(":", "schedule:".length) + 1));
}

export async function storedSchedule(h: Harness, _id: string): Promise<Schedule> {
  const schedule = await h.db.collection<Schedule>("schedules").findOne({ _id });
  if (!schedule) throw new Error(`schedule ${_id} is not stored`);
  return schedule;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Gaps between consecutive due times that are not exactly `everyMs`. */
export function gaps(jobs: Job[], everyMs: number): number[] {
  const times = jobs.map(dueOf);
  return times
    .slice(1)
    .flatMap((time, i) => (time - (times[i] as number) === everyMs ? [] : [time - (times[i] as number)]));
}
