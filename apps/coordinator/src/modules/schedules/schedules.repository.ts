import { SCHEDULE_LIMITS, type Schedule, type ScheduleAction } from "@gigafactory/schema";
import type { Collections } from "../../db/collections.js";

/** The fields a claim or an edit sets; counters are added with `inc`. */
export type ScheduleSet = Partial<
  Pick<
    Schedule,
    | "definition"
    | "paused"
    | "note"
    | "nextDueAt"
    | "attentionAt"
    | "firing"
    | "buffered"
    | "lastJobId"
    | "pausedForJobId"
  >
>;
export type ScheduleInc = Partial<Pick<Schedule, "actions" | "missed" | "skipped">>;

/** The `schedules` collection: the only code that writes it. Every method is one read or one atomic write. */
export class SchedulesRepository {
  constructor(private readonly cols: Collections) {}

  find(productId: string, id: string): Promise<Schedule | null> {
    return this.cols.schedules.findOne({ _id: scheduleKey(productId, id) });
  }

  list(productId: string, limit: number): Promise<Schedule[]> {
    return this.cols.schedules.find({ productId }).sort({ id: 1 }).limit(limit).toArray();
  }

  /** Stores a new schedule; false when one with its id exists already (a concurrent create won). */
  async insert(schedule: Schedule): Promise<boolean> {
    const result = await this.cols.schedules.updateOne(
      { _id: schedule._id },
      { $setOnInsert: schedule },
      { upsert: true },
    );
    return result.upsertedCount === 1;
  }

  /**
   * The claim: sets `set` (a moved `nextDueAt`, a firing lease, a buffered due time…) only if
   * nobody changed the schedule since it was read at `rev`. One `findOneAndUpdate`: of several
   * coordinators that read the same due time, exactly one gets the schedule back.
   */
  claim(
    _id: string,
    rev: number,
    set: ScheduleSet,
    opts: { inc?: ScheduleInc; action?: ScheduleAction; now: Date },
  ): Promise<Schedule | null> {
    return this.cols.schedules.findOneAndUpdate(
      { _id, rev },
      {
        $set: { ...set, updatedAt: opts.now },
        $inc: { ...opts.inc, rev: 1 },
        ...(opts.action ? { $push: { recent: { $each: [opts.action], $slice: -SCHEDULE_LIMITS.recentActions } } } : {}),
      },
      { returnDocument: "after" },
    );
  }

  /**
   * Ends the firing of `dueAt` once its job exists: clears the lease, links the job, counts the
   * action. `attentionAt` is set to the claim's when nothing else changed the schedule since the
   * claim (`rev`); otherwise to `now`, so the firing loop decides again from what is stored.
   * Returns whether the firing was still there.
   */
  async fired(
    _id: string,
    opts: {
      dueAt: Date;
      /** Who claimed it: a holder whose lease ran out and was taken over records nothing (the new holder does). */
      holder: string;
      rev: number;
      attentionAt: Date | null;
      action: ScheduleAction;
      counts: boolean;
    },
  ): Promise<boolean> {
    const update = (set: ScheduleSet) => ({
      $set: { ...set, firing: null, updatedAt: opts.action.at },
      $inc: { rev: 1, actions: opts.counts ? 1 : 0 },
      $push: { recent: { $each: [opts.action], $slice: -SCHEDULE_LIMITS.recentActions } },
    });
    const withJob = opts.action.jobId ? { lastJobId: opts.action.jobId } : {};
    const first = await this.cols.schedules.updateOne(
      { _id, rev: opts.rev, "firing.dueAt": opts.dueAt, "firing.holder": opts.holder },
      update({ ...withJob, attentionAt: opts.attentionAt }),
    );
    if (first.modifiedCount === 1) return true;
    const second = await this.cols.schedules.updateOne(
      { _id, "firing.dueAt": opts.dueAt, "firing.holder": opts.holder },
      update({ ...withJob, attentionAt: opts.action.at }),
    );
    return second.modifiedCount === 1;
  }

  /** Records a fired job of a trigger or a backfill (no firing lease involved). */
  async recordAction(productId: string, id: string, action: ScheduleAction): Promise<void> {
    await this.cols.schedules.updateOne(
      { _id: scheduleKey(productId, id) },
      {
        $set: { updatedAt: action.at, ...(action.jobId ? { lastJobId: action.jobId } : {}) },
        $inc: { rev: 1, actions: action.jobId ? 1 : 0 },
        $push: { recent: { $each: [action], $slice: -SCHEDULE_LIMITS.recentActions } },
      },
    );
  }

  /** An edit by a person (update, pause, resume): sets `set` whatever the schedule's state. */
  edit(productId: string, id: string, set: ScheduleSet, now: Date): Promise<Schedule | null> {
    const unset = set.note === undefined && "note" in set ? { $unset: { note: "" as const } } : {};
    const { note: _note, ...rest } = set;
    return this.cols.schedules.findOneAndUpdate(
      { _id: scheduleKey(productId, id) },
      {
        $set: { ...rest, ...(set.note !== undefined ? { note: set.note } : {}), updatedAt: now },
        $inc: { rev: 1 },
        ...unset,
      },
      { returnDocument: "after" },
    );
  }

  async remove(productId: string, id: string): Promise<boolean> {
    return (await this.cols.schedules.deleteOne({ _id: scheduleKey(productId, id) })).deletedCount === 1;
  }

  /** Schedules that need a coordinator now, most overdue first (index `attention`). */
  due(now: Date, limit: number): Promise<Schedule[]> {
    return this.cols.schedules
      .find({ paused: false, attentionAt: { $lte: now } })
      .sort({ attentionAt: 1 })
      .limit(limit)
      .toArray();
  }

  /** When the next schedule needs a coordinator, if any does. */
  async nearest(): Promise<Date | null> {
    const next = await this.cols.schedules.findOne(
      { paused: false, attentionAt: { $ne: null } },
      { sort: { attentionAt: 1 }, projection: { attentionAt: 1 } },
    );
    return next?.attentionAt ?? null;
  }
}

/** A schedule's `_id`: ids are chosen by their authors, unique within a product. */
export function scheduleKey(productId: string, id: string): string {
  return `${productId}/${id}`;
}
