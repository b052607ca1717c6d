import { type Job, type Schedule, type ScheduleAction, isTerminalStage } from "@gigafactory/schema";
import { DomainError } from "../../errors.js";
import { failpoint } from "../../failpoints.js";
import type { Logger } from "../../logger.js";
import type { ScheduleOptions } from "../../options.js";
import type { JobsRepository } from "../jobs/jobs.repository.js";
import type { JobsService } from "../jobs/jobs.service.js";
import { firingKey, jitterFor, plan } from "./next-times.js";
import type { ScheduleInc, ScheduleSet, SchedulesRepository } from "./schedules.repository.js";

const earliest = (...dates: (Date | null)[]): Date | null =>
  dates.reduce<Date | null>((best, date) => (date && (!best || date < best) ? date : best), null);

/**
 * Fires due schedules, on every coordinator at once (see ARCHITECTURE.md, "Schedules").
 *
 * Claim-then-create under a firing lease: the claim (`SchedulesRepository.claim`, a
 * compare-and-set on `rev`) moves `nextDueAt` forward and records `firing {dueAt, holder, until}`
 * in the same write; only then is the job created, with the idempotency key
 * `schedule:<id>:<dueAt>`; `fired` then clears the firing. A coordinator that dies in between
 * leaves the firing behind; once its lease ends (`attentionAt` = `until`) any coordinator claims
 * it again and creates the job with the same key: the job is made once, whoever finishes.
 */
export class FiringService {
  constructor(
    private readonly deps: {
      schedules: SchedulesRepository;
      jobRepo: JobsRepository;
      jobs: JobsService;
      options: ScheduleOptions;
      holder: string;
      logger: Logger;
    },
  ) {}

  /** One pass: handles every schedule due by `now`; returns when the next one is due. */
  async tick(now = new Date()): Promise<Date | null> {
    const { schedules, options } = this.deps;
    for (let round = 0; round < 50; round++) {
      const due = await schedules.due(now, options.batch);
      let next = 0;
      const worker = async () => {
        for (let i = next++; i < due.length; i = next++) {
          const schedule = due[i] as Schedule;
          await this.attend(schedule, new Date()).catch((error: unknown) =>
            this.deps.logger.error({ err: error, schedule: schedule._id }, "schedule firing failed; retried later"),
          );
        }
      };
      await Promise.all(Array.from({ length: Math.min(options.concurrency, due.length) }, worker));
      if (due.length < options.batch) break;
    }
    return schedules.nearest();
  }

  /** Decides what one schedule whose `attentionAt` has come needs, claims it, and fires. */
  async attend(s: Schedule, now: Date): Promise<void> {
    const { options, holder } = this.deps;
    const lease = () => ({ holder, until: new Date(now.getTime() + options.firingLeaseMs) });

    if (s.firing) {
      if (s.firing.until > now) {
        // another coordinator is firing it; an edit made meanwhile set attentionAt to now: look
        // again when the lease ends rather than at every pass (its `fired` re-opens attention)
        if (!s.attentionAt || s.attentionAt < s.firing.until) await this.claim(s, { attentionAt: s.firing.until }, now);
        return;
      }
      const until = lease().until;
      const claimed = await this.claim(s, { firing: { dueAt: s.firing.dueAt, ...lease() }, attentionAt: until }, now);
      if (claimed) await this.fire(claimed, s.firing.dueAt, "scheduled");
      return;
    }

    const last = s.lastJobId ? await this.deps.jobRepo.find(s.productId, s.lastJobId) : null;
    const running = !!last && !isTerminalStage(last.stage);
    const def = s.definition;

    if (def.pauseOnFailure && last?.stage === "failed" && s.pausedForJobId !== last._id) {
      const note = `paused: job ${last._id} failed${last.reason ? ` (${last.reason.slice(0, 200)})` : ""}`;
      await this.claim(s, { paused: true, note, pausedForJobId: last._id }, now);
      return;
    }

    if (s.buffered && !running) {
      const until = lease().until;
      const claimed = await this.claim(
        s,
        { buffered: null, firing: { dueAt: s.buffered, ...lease() }, attentionAt: until },
        now,
      );
      if (claimed) await this.fire(claimed, s.buffered, "scheduled");
      return;
    }

    const exhausted = def.limit !== undefined && s.actions >= def.limit;
    if (!s.nextDueAt || s.nextDueAt > now || exhausted) {
      // nothing due: only move attention to when something will be (a buffered re-check, the next due time)
      const nextDueAt = exhausted ? null : s.nextDueAt;
      const recheck = s.buffered ? new Date(now.getTime() + options.bufferRecheckMs) : null;
      await this.claim(s, { nextDueAt, attentionAt: earliest(nextDueAt, recheck) }, now);
      return;
    }

    const { fire, missed, next } = plan(def, s.nextDueAt, now);
    const inc: ScheduleInc = { missed };
    if (!fire) {
      await this.claim(s, { nextDueAt: next, attentionAt: next }, now, { inc });
      return;
    }
    if (running && def.overlap === "skip") {
      const action: ScheduleAction = { dueAt: fire, at: now, kind: "skipped", jobId: last._id };
      await this.claim(s, { nextDueAt: next, attentionAt: next }, now, { inc: { ...inc, skipped: 1 }, action });
      return;
    }
    if (running && def.overlap === "bufferOne") {
      // one buffered due time at most: a newer one replaces it, and the older counts as skipped
      const recheck = new Date(now.getTime() + options.bufferRecheckMs);
      const action: ScheduleAction = { dueAt: fire, at: now, kind: "buffered", jobId: last._id };
      await this.claim(s, { nextDueAt: next, buffered: fire, attentionAt: earliest(next, recheck) }, now, {
        inc: { ...inc, skipped: s.buffered ? 1 : 0 },
        action,
      });
      return;
    }
    const until = lease().until;
    const claimed = await this.claim(
      s,
      { nextDueAt: next, firing: { dueAt: fire, ...lease() }, attentionAt: until },
      now,
      {
        inc,
      },
    );
    if (!claimed) return;
    if (running && def.overlap === "cancelOther")
      await this.deps.jobs
        .cancel(s.productId, last._id, `cancelled by schedule ${s.id}: the next run is due (overlap cancelOther)`)
        .catch((error: unknown) => this.deps.logger.warn({ err: error, jobId: last._id }, "overlap cancel failed"));
    await this.fire(claimed, fire, "scheduled", next);
  }

  private claim(
    s: Schedule,
    set: ScheduleSet,
    now: Date,
    opts: { inc?: ScheduleInc; action?: ScheduleAction } = {},
  ): Promise<Schedule | null> {
    return this.deps.schedules.claim(s._id, s.rev, set, { ...opts, now });
  }

  /**
   * Creates the job of one claimed due time and ends the firing. A job the template cannot make
   * (an unpublished profile, a missing dependency) is recorded as a `failed` action rather than
   * retried forever; any other error leaves the firing for a retry once its lease ends.
   */
  private async fire(claimed: Schedule, dueAt: Date, kind: "scheduled", next: Date | null = claimed.nextDueAt) {
    failpoint("schedule.afterClaim");
    const at = () => new Date();
    let action: ScheduleAction;
    try {
      const { job } = await this.createJob(claimed, dueAt);
      action = { dueAt, at: at(), kind, jobId: job._id };
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      action = { dueAt, at: at(), kind: "failed", error: error.message.slice(0, 2_000) };
    }
    await this.deps.schedules.fired(claimed._id, {
      dueAt,
      holder: this.deps.holder,
      rev: claimed.rev,
      attentionAt: next,
      action,
      counts: !!action.jobId,
    });
  }

  /**
   * The job of one due time; the same due time always gives the same job (its idempotency key).
   * Its `notBefore` is the due time plus the schedule's jitter for it (none for a trigger).
   */
  createJob(s: Schedule, dueAt: Date, opts: { jitter?: boolean } = {}): Promise<{ job: Job; created: boolean }> {
    const jitter = opts.jitter === false ? 0 : jitterFor(s._id, dueAt, s.definition.jitter);
    return this.deps.jobs.create(
      s.productId,
      { ...s.definition.job, idempotencyKey: firingKey(s.id, dueAt), notBefore: new Date(dueAt.getTime() + jitter) },
      { scheduleId: s._id },
    );
  }
}
