import {
  SCHEDULE_LIMITS,
  type Schedule,
  type ScheduleAction,
  type ScheduleDefinition,
  type Stage,
} from "@gigafactory/schema";
import { InvalidInputError, NotFoundError } from "../../errors.js";
import type { JobsRepository } from "../jobs/jobs.repository.js";
import type { FiringService } from "./firing.service.js";
import { compile, dueTimesIn, nextDue, nextDueTimes } from "./next-times.js";
import { type SchedulesRepository, scheduleKey } from "./schedules.repository.js";

/** How many upcoming due times a schedule's view shows. */
const SHOWN_DUE_TIMES = 5;

export type ScheduleView = Omit<Schedule, "recent"> & {
  nextDueTimes: Date[];
  recent: (ScheduleAction & { stage?: Stage })[];
};

/** What people and services do with schedules: apply, edit, pause, trigger, backfill, read. */
export class SchedulesService {
  constructor(private readonly deps: { schedules: SchedulesRepository; jobs: JobsRepository; firing: FiringService }) {}

  /**
   * Creates the schedule, or updates the one with its id (upsert by id): applying the same
   * definition again changes nothing, so it never duplicates a schedule nor moves its due times.
   */
  async create(productId: string, def: ScheduleDefinition): Promise<{ schedule: ScheduleView; created: boolean }> {
    compile(def.specs);
    const existing = await this.deps.schedules.find(productId, def.id);
    if (existing) return { schedule: await this.applyTo(existing, def), created: false };
    const now = new Date();
    const nextDueAt = nextDue(def, now);
    const schedule: Schedule = {
      _id: scheduleKey(productId, def.id),
      productId,
      id: def.id,
      definition: def,
      paused: def.paused,
      ...(def.note ? { note: def.note } : {}),
      nextDueAt,
      attentionAt: nextDueAt,
      firing: null,
      buffered: null,
      lastJobId: null,
      pausedForJobId: null,
      actions: 0,
      missed: 0,
      skipped: 0,
      recent: [],
      rev: 0,
      createdAt: now,
      updatedAt: now,
    };
    if (await this.deps.schedules.insert(schedule)) return { schedule: await this.view(schedule), created: true };
    const winner = await this.get(productId, def.id);
    return { schedule: await this.applyTo(winner, def), created: false };
  }

  /** Replaces an existing schedule's definition; its due times restart from now. */
  async update(productId: string, def: ScheduleDefinition): Promise<ScheduleView> {
    compile(def.specs);
    return this.applyTo(await this.get(productId, def.id), def);
  }

  private async applyTo(existing: Schedule, def: ScheduleDefinition): Promise<ScheduleView> {
    if (JSON.stringify(existing.definition) === JSON.stringify(def)) return this.view(existing);
    const now = new Date();
    const nextDueAt = nextDue(def, now);
    // the paused state follows the definition only when the definition's own flag changed
    const paused = def.paused !== existing.definition.paused ? { paused: def.paused, note: def.note } : {};
    const edited = await this.deps.schedules.edit(
      existing.productId,
      existing.id,
      { definition: def, nextDueAt, attentionAt: now, ...paused },
      now,
    );
    if (!edited) throw new NotFoundError("schedule", existing.id);
    return this.view(edited);
  }

  async get(productId: string, id: string): Promise<Schedule> {
    const schedule = await this.deps.schedules.find(productId, id);
    if (!schedule) throw new NotFoundError("schedule", id);
    return schedule;
  }

  /** The schedule with its next due times and its last actions with their jobs' stages. */
  async show(productId: string, id: string): Promise<ScheduleView> {
    return this.view(await this.get(productId, id));
  }

  async list(productId: string, limit: number): Promise<Schedule[]> {
    return this.deps.schedules.list(productId, limit);
  }

  async pause(productId: string, id: string, note?: string): Promise<ScheduleView> {
    return this.edit(productId, id, { paused: true, note: note ?? "paused" });
  }

  /** Due times that passed while paused are handled like any late ones: fired within the catch-up window, else counted missed. */
  async resume(productId: string, id: string): Promise<ScheduleView> {
    return this.edit(productId, id, { paused: false, note: undefined, attentionAt: new Date() });
  }

  async remove(productId: string, id: string): Promise<{ deleted: true }> {
    if (!(await this.deps.schedules.remove(productId, id))) throw new NotFoundError("schedule", id);
    return { deleted: true };
  }

  /** Fires the schedule now, whatever its overlap policy and pause state; its due time is now. */
  async trigger(productId: string, id: string): Promise<{ jobId: string }> {
    const schedule = await this.get(productId, id);
    const now = new Date();
    const { job } = await this.deps.firing.createJob(schedule, now, { jitter: false });
    await this.deps.schedules.recordAction(productId, id, {
      dueAt: now,
      at: new Date(),
      kind: "trigger",
      jobId: job._id,
    });
    return { jobId: job._id };
  }

  /**
   * Fires every due time of `from`..`to` (at most `SCHEDULE_LIMITS.maxBackfill`), whatever the
   * overlap policy. Each due time's job has the key a scheduled firing would have, so a backfill
   * repeated, or over times that already fired, creates nothing twice.
   */
  async backfill(productId: string, id: string, from: Date, to: Date): Promise<{ jobIds: string[]; created: number }> {
    const schedule = await this.get(productId, id);
    const times = dueTimesIn(schedule.definition, from, to, SCHEDULE_LIMITS.maxBackfill);
    if (!times)
      throw new InvalidInputError("to", `the range holds more than ${SCHEDULE_LIMITS.maxBackfill} due times; split it`);
    const jobIds: string[] = [];
    let created = 0;
    for (const dueAt of times) {
      const made = await this.deps.firing.createJob(schedule, dueAt);
      jobIds.push(made.job._id);
      if (!made.created) continue;
      created++;
      await this.deps.schedules.recordAction(productId, id, {
        dueAt,
        at: new Date(),
        kind: "backfill",
        jobId: made.job._id,
      });
    }
    return { jobIds, created };
  }

  private async edit(
    productId: string,
    id: string,
    set: Parameters<SchedulesRepository["edit"]>[2],
  ): Promise<ScheduleView> {
    const edited = await this.deps.schedules.edit(productId, id, set, new Date());
    if (!edited) throw new NotFoundError("schedule", id);
    return this.view(edited);
  }

  private async view(schedule: Schedule): Promise<ScheduleView> {
    const from = schedule.nextDueAt ? new Date(schedule.nextDueAt.getTime() - 1) : null;
    const recent = await Promise.all(
      schedule.recent.map(async (action) => {
        const job = action.jobId ? await this.deps.jobs.find(schedule.productId, action.jobId) : null;
        return job ? { ...action, stage: job.stage } : action;
      }),
    );
    return {
      ...schedule,
      nextDueTimes: from ? nextDueTimes(schedule.definition, from, SHOWN_DUE_TIMES) : [],
      recent,
    };
  }
}
