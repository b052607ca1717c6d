import {
  ACTIVE_STAGES,
  type ActiveStage,
  type Checkpoint,
  type Factory,
  type Job,
  type JobKind,
  type Lease,
  type Stage,
  type TenantFence,
  canTransition,
  isActiveStage,
  isTerminalStage,
  stagesLeadingTo,
} from "@gigafactory/schema";
import type { Filter, UpdateFilter } from "mongodb";
import type { Collections } from "../../db/collections.js";

/**
 * Merged into an update's increments: reserves the seq of the lifecycle event that follows it, in
 * the same atomic write, so a reader never sees the new state without its event being due.
 */
export const RESERVE_EVENT = { eventSeq: 1 } as const;

/**
 * Merged into the `$set` of a stage change with follow-ups: records in the same atomic write that
 * they are owed, so a request that dies before running them leaves a marker the reaper finds
 * (`OutcomesService.catchUp`). Cleared by {@link JobsRepository.clearSettle}.
 */
function owedSettle(): { settle: NonNullable<Job["settle"]> } {
  return { settle: { owedSince: new Date() } };
}

/**
 * Whether a change `from → to` has follow-ups (`OutcomesService.settled`): leaving an active stage
 * (the lock) or reaching a terminal one (dependents, parent).
 */
export function owesSettle(from: Stage | readonly Stage[], to: Stage): boolean {
  const sources: readonly Stage[] = typeof from === "string" ? [from] : from;
  return isTerminalStage(to) || sources.some(isActiveStage);
}

/** Fields that clear the lease; the epoch is kept (it only ever grows). */
const LEASE_CLEARED = { "lease.holder": null, "lease.expiresAt": null, "lease.runId": null } as const;

/** Who may write about a job: the factory holding it at this epoch (the schema's `TenantFence`). */
export type Fence = TenantFence;

/** Plain job fields a service sets along with a change; the stage, lease and event seq are the repository's. */
export type JobFields = Partial<Omit<Job, "_id" | "productId" | "stage" | "lease" | "eventSeq">>;

/**
 * The stage part of every stage-changing update: matches jobs in `from`, after checking with
 * the lifecycle table that each `from → to` is allowed. A disallowed pair is a bug, so it throws.
 */
export function moving(from: Stage | readonly Stage[], to: Stage): Filter<Job> {
  const sources = typeof from === "string" ? [from] : [...from];
  for (const source of sources) {
    if (!canTransition(source, to)) throw new Error(`lifecycle: ${source} → ${to} is not an allowed transition`);
  }
  return { stage: { $in: sources } };
}

/** `moving` from whichever active stages may reach `to`. */
export function movingFromActive(to: Stage): Filter<Job> {
  return moving(stagesLeadingTo(to).filter(isActiveStage), to);
}

/** The fence every factory write carries: current holder, current epoch, an active stage. */
export function fenceFilter(fence: Fence): Filter<Job> {
  return {
    _id: fence.jobId,
    productId: fence.productId,
    "lease.epoch": fence.epoch,
    "lease.holder": fence.factoryId,
    stage: { $in: [...ACTIVE_STAGES] },
  };
}

/**
 * The claim filter: the inbox jobs `factory` may take at `now`. A job is claimable when it is a
 * leaf in `inbox` (checked against the lifecycle table), waits on no dependency, is due
 * (`notBefore`), has no cancel requested, needs no capability the factory lacks, runs on one of
 * the factory's engines, and does not name a lock that another job of the product holds.
 * The claim's order is {@link CLAIM_ORDER}; index `claim` serves both.
 */
export function claimFilter(
  factory: Pick<Factory, "productId" | "capabilities" | "engines">,
  heldLocks: readonly string[],
  now: Date,
): Filter<Job> {
  return {
    productId: factory.productId,
    ...moving("inbox", "building"),
    kind: "leaf",
    pendingDeps: { $size: 0 },
    notBefore: { $lte: now },
    cancelRequested: false,
    // required capabilities ⊆ the factory's: no required capability outside the offered set
    capabilities: { $not: { $elemMatch: { $nin: factory.capabilities } } },
    engine: { $in: factory.engines },
    ...(heldLocks.length ? { lock: { $nin: [...heldLocks] } } : {}),
  };
}

/** Which claimable job goes first: highest priority, then longest queued, then oldest id. */
export const CLAIM_ORDER = { priority: -1, queuedAt: 1, _id: 1 } as const;

/** A factory's write about a job it holds; see {@link JobsRepository.applyFenced}. */
export type FencedChange =
  /** Pushes the lease's expiry out. */
  | { kind: "renew"; expiresAt: Date }
  /** Moves between active stages (building → review → testing). */
  | { kind: "advance"; to: ActiveStage; now: Date }
  | { kind: "checkpoint"; checkpoint: Checkpoint; now: Date }
  /**
   * Ends the attempt: moves to `to`, clears the lease, sets `set`; applied only while the cancel
   * flag is still `cancelRequested` (the value the decision was made from). `refundAttempt` gives
   * the attempt back (a release is no attempt).
   */
  | { kind: "end"; to: Stage; cancelRequested: boolean; set: JobFields; refundAttempt?: boolean };

/** Conditions a coordinator-side move holds under, besides the stage (all plain equalities). */
export interface MoveGuard {
  productId?: string;
  /** Only while no factory holds the job. */
  unheld?: true;
  awaitingApproval?: boolean;
  cancelRequested?: boolean;
  kind?: JobKind;
  /** A composite parent's seal. */
  sealed?: boolean;
}

/** One stage change made by the coordinator; the lifecycle table is checked for every `from → to`. */
export interface Move {
  from: Stage | readonly Stage[];
  to: Stage;
  where?: MoveGuard;
  set?: JobFields;
  /** Clears the lease's holder, expiry and run (the epoch stays). */
  clearLease?: boolean;
  unset?: ReadonlyArray<"reason" | "endedAt">;
  /**
   * Records that follow-ups are owed (see `owedSettle`).
   * @default owesSettle(from, to)
   */
  owesSettle?: boolean;
}

/** What `list` filters on; unset (or empty) criteria do not filter. */
export interface JobListFilter {
  productId: string;
  stage?: Stage | Stage[] | undefined;
  engine?: string | undefined;
  /** A profile name. */
  profile?: string | undefined;
  trackerItemId?: string | undefined;
  parentId?: string | undefined;
  /** Only jobs created before this one (the page cursor). */
  beforeId?: string | undefined;
}

/**
 * The `jobs` collection. Every method is one atomic read or write named for what it does;
 * writes that change the stage check the lifecycle table and reserve the event seq of the
 * lifecycle event the caller records next (`EventLog.record`).
 */
export class JobsRepository {
  constructor(private readonly cols: Collections) {}

  find(productId: string, jobId: string): Promise<Job | null> {
    return this.cols.jobs.findOne({ _id: jobId, productId });
  }

  async exists(productId: string, jobId: string): Promise<boolean> {
    return (await this.cols.jobs.findOne({ _id: jobId, productId }, { projection: { _id: 1 } })) !== null;
  }

  findByKey(productId: string, idempotencyKey: string): Promise<Job | null> {
    return this.cols.jobs.findOne({ productId, idempotencyKey });
  }

  /** Jobs of a product named by id or idempotency key. */
  findRefs(productId: string, refs: string[]): Promise<Job[]> {
    return this.cols.jobs
      .find({ productId, $or: [{ _id: { $in: refs } }, { idempotencyKey: { $in: refs } }] })
      .toArray();
  }

  /** The job if `fence` still holds it. */
  findHeld(fence: Fence): Promise<Job | null> {
    return this.cols.jobs.findOne(fenceFilter(fence));
  }

  async isHeld(fence: Fence): Promise<boolean> {
    return (await this.cols.jobs.findOne(fenceFilter(fence), { projection: { _id: 1 } })) !== null;
  }

  /**
   * Stores a new job. One with dependencies is stored owing a settle: the dependency re-check
   * that follows the insert (a dependency may finish meanwhile). Returns the job as stored.
   */
  async insert(job: Job): Promise<Job> {
    const stored: Job = job.deps.length ? { ...job, ...owedSettle() } : job;
    await this.cols.jobs.insertOne(stored);
    return stored;
  }

  /** Newest first (ids are time-ordered), index `list_all` / `list_stage`. */
  list(query: JobListFilter, limit: number): Promise<Job[]> {
    const filter: Filter<Job> = { productId: query.productId };
    if (query.stage) filter.stage = typeof query.stage === "string" ? query.stage : { $in: query.stage };
    if (query.engine) filter.engine = query.engine;
    if (query.profile) filter["profile.name"] = query.profile;
    if (query.trackerItemId) filter.trackerItemId = query.trackerItemId;
    if (query.parentId) filter.parentId = query.parentId;
    if (query.beforeId) filter._id = { $lt: query.beforeId };
    return this.cols.jobs.find(filter).sort({ _id: -1 }).limit(limit).toArray();
  }

  dependents(productId: string, jobId: string, stage: Stage): Promise<Job[]> {
    return this.cols.jobs.find({ productId, deps: jobId, stage }).toArray();
  }

  children(productId: string, parentId: string): Promise<Job[]> {
    return this.cols.jobs.find({ productId, parentId }).toArray();
  }

  /** Active jobs whose lease ran out (the reaper's query, index `reaper`). */
  expired(now: Date, limit: number): Promise<Job[]> {
    return this.cols.jobs
      .find({ stage: { $in: [...ACTIVE_STAGES] }, "lease.expiresAt": { $lt: now } })
      .limit(limit)
      .toArray();
  }

  /** Jobs whose follow-ups have been owed since before `before` (the reaper's, index `settle_owed`). */
  settleOwed(before: Date, limit: number): Promise<Job[]> {
    return this.cols.jobs
      .find({ "settle.owedSince": { $lt: before } })
      .limit(limit)
      .toArray();
  }

  /**
   * The follow-ups `job` owed ran: drops its marker, unless a later change set a new one since.
   * Returns whether it dropped it.
   */
  async clearSettle(job: Pick<Job, "_id" | "settle">): Promise<boolean> {
    if (!job.settle) return false;
    const { modifiedCount } = await this.cols.jobs.updateOne(
      { _id: job._id, "settle.owedSince": job.settle.owedSince },
      { $unset: { settle: "" } },
    );
    return modifiedCount > 0;
  }

  /** Unheld jobs in `inbox` or `review` whose cancel was requested (index `cancel_backstop`). */
  idleCancelRequested(limit: number): Promise<Job[]> {
    return this.cols.jobs
      .find({ stage: { $in: ["inbox", "review"] }, cancelRequested: true, "lease.holder": null })
      .limit(limit)
      .toArray();
  }

  /** The stage and lease epoch of each of these jobs (those that exist). */
  leaseStates(jobIds: string[]): Promise<Array<Pick<Job, "_id" | "stage"> & { lease: Pick<Lease, "epoch"> }>> {
    return this.cols.jobs.find({ _id: { $in: jobIds } }, { projection: { stage: 1, "lease.epoch": 1 } }).toArray();
  }

  /**
   * How many jobs the factory holds, and whether one of them was leased under `requestId`: the
   * claim's seat count and its retry check, answered by the server as one small document (index
   * `held_by`), not as the held jobs (the full jobs of a retry come from {@link heldByClaim}).
   */
  async heldSummary(
    productId: string,
    factoryId: string,
    requestId?: string,
  ): Promise<{ held: number; retried: boolean }> {
    const [row] = await this.cols.jobs
      .aggregate<{ held: number; retried: number }>([
        { $match: { productId, "lease.holder": factoryId, stage: { $in: [...ACTIVE_STAGES] } } },
        {
          $group: {
            _id: null,
            held: { $sum: 1 },
            // a literal, never a field path or operator, whatever the id holds
            retried: { $max: { $cond: [{ $eq: ["$lease.claimRequestId", { $literal: requestId ?? null }] }, 1, 0] } },
          },
        },
      ])
      .toArray();
    return { held: row?.held ?? 0, retried: requestId !== undefined && row?.retried === 1 };
  }

  async countByStage(productId: string): Promise<Partial<Record<Stage, number>>> {
    const rows = await this.cols.jobs
      .aggregate<{ _id: Stage; n: number }>([{ $match: { productId } }, { $group: { _id: "$stage", n: { $sum: 1 } } }])
      .toArray();
    const byStage: Partial<Record<Stage, number>> = {};
    for (const row of rows) byStage[row._id] = row.n;
    return byStage;
  }

  /** The profile of each of these jobs that has one. */
  profilesOf(productId: string, jobIds: string[]): Promise<Array<Pick<Job, "_id" | "profile">>> {
    return this.cols.jobs
      .find({ productId, _id: { $in: jobIds }, profile: { $exists: true } }, { projection: { profile: 1 } })
      .toArray();
  }

  /**
   * The claim: the best-ranked job matching {@link claimFilter} leaves the inbox with a lease for
   * `factory` under a fresh epoch, a new attempt and a reserved `claimed` event, in one update.
   */
  claimNext(opts: {
    factory: Pick<Factory, "productId" | "factoryId" | "capabilities" | "engines">;
    heldLocks: readonly string[];
    now: Date;
    lease: { runId: string; expiresAt: Date };
    /** The claim request's id (`ClaimInput.requestId`), kept on the lease for a retry of it. */
    requestId?: string | undefined;
  }): Promise<Job | null> {
    const { factory, now, lease } = opts;
    return this.cols.jobs.findOneAndUpdate(
      claimFilter(factory, opts.heldLocks, now),
      {
        $set: {
          stage: "building",
          "lease.holder": factory.factoryId,
          "lease.expiresAt": lease.expiresAt,
          "lease.renewals": 0,
          "lease.runId": lease.runId,
          "lease.claimRequestId": opts.requestId ?? null,
          "lease.applied": [],
          updatedAt: now,
        },
        // `runCount` is never given back, so each run's number is new; `attempt` may be
        $inc: { "lease.epoch": 1, attempt: 1, runCount: 1, ...RESERVE_EVENT },
      },
      { sort: CLAIM_ORDER, returnDocument: "after" },
    );
  }

  /** The jobs a claim request (by its id) leased to `factoryId` that it still holds, best-ranked first. */
  heldByClaim(productId: string, factoryId: string, requestId: string): Promise<Job[]> {
    return this.cols.jobs
      .find({
        productId,
        "lease.holder": factoryId,
        "lease.claimRequestId": requestId,
        stage: { $in: [...ACTIVE_STAGES] },
      })
      .sort(CLAIM_ORDER)
      .toArray();
  }

  /**
   * Puts a just-claimed job back, conditional on the lease it was claimed under. The epoch still
   * grows so the undone lease stays fenced, and the attempt is given back. Reserves no event: the
   * claim did.
   */
  undoClaim(job: Job, now: Date): Promise<Job | null> {
    return this.cols.jobs.findOneAndUpdate(
      {
        _id: job._id,
        "lease.epoch": job.lease.epoch,
        "lease.holder": job.lease.holder,
        ...moving("building", "inbox"),
      },
      {
        $set: { stage: "inbox", ...LEASE_CLEARED, "lease.claimRequestId": null, updatedAt: now },
        $inc: { "lease.epoch": 1, attempt: -1 },
      },
      { returnDocument: "after" },
    );
  }

  /**
   * A factory's write about a job it holds, applied in ONE update whose filter is the fence
   * (holder, epoch, active stage). Returns the job after it, or null when the fence no longer
   * holds (the write changed nothing: `FENCED`, or a stage the lifecycle does not allow from here).
   */
  applyFenced(fence: Fence, change: FencedChange): Promise<Job | null> {
    const [filter, update] = fencedUpdate(change);
    return this.cols.jobs.findOneAndUpdate({ ...fenceFilter(fence), ...filter }, update, {
      returnDocument: "after",
    });
  }

  /**
   * A stage change made by the coordinator (cancel, retry, review decisions, dependency and
   * composite outcomes): applied only while the job is in `from` and `where` holds; reserves the
   * event seq. Returns the job after it, or null when it did not match.
   */
  move(jobId: string, move: Move): Promise<Job | null> {
    const where = move.where ?? {};
    const filter: Filter<Job> = {
      _id: jobId,
      ...(where.productId !== undefined ? { productId: where.productId } : {}),
      ...(where.unheld ? { "lease.holder": null } : {}),
      ...(where.awaitingApproval !== undefined ? { awaitingApproval: where.awaitingApproval } : {}),
      ...(where.cancelRequested !== undefined ? { cancelRequested: where.cancelRequested } : {}),
      ...(where.kind !== undefined ? { kind: where.kind } : {}),
      ...(where.sealed !== undefined ? { sealed: where.sealed } : {}),
      ...moving(move.from, move.to),
    };
    const owed = move.owesSettle ?? owesSettle(move.from, move.to);
    const update: UpdateFilter<Job> = {
      $set: {
        stage: move.to,
        ...move.set,
        ...(move.clearLease ? LEASE_CLEARED : {}),
        ...(owed ? owedSettle() : {}),
      },
      ...(move.unset?.length ? { $unset: Object.fromEntries(move.unset.map((field) => [field, ""])) } : {}),
      $inc: RESERVE_EVENT,
    };
    return this.cols.jobs.findOneAndUpdate(filter, update, { returnDocument: "after" });
  }

  /**
   * Takes back a job whose lease ran out, conditional on the lease read (holder, epoch, still
   * expired, cancel flag unchanged): moves it to `to`, clears the lease and bumps the epoch so the
   * old holder is fenced. Two reapers racing agree: only one update matches.
   */
  reap(job: Job, outcome: { to: Stage; now: Date; set: JobFields }): Promise<Job | null> {
    const { to, now } = outcome;
    return this.cols.jobs.findOneAndUpdate(
      {
        _id: job._id,
        "lease.epoch": job.lease.epoch,
        "lease.holder": job.lease.holder,
        "lease.expiresAt": { $lt: now },
        cancelRequested: job.cancelRequested,
        ...movingFromActive(to),
      },
      {
        $set: { stage: to, ...LEASE_CLEARED, lastResult: "lost", updatedAt: now, ...outcome.set, ...owedSettle() },
        $inc: { "lease.epoch": 1, ...RESERVE_EVENT },
      },
      { returnDocument: "after" },
    );
  }

  /** Flags a held job for cancelling; its holder hears of it and ends it. Reserves the event seq. */
  requestCancel(productId: string, jobId: string, opts: { reason: string; now: Date }): Promise<Job | null> {
    return this.cols.jobs.findOneAndUpdate(
      { _id: jobId, productId, stage: { $in: ["building", "review", "testing"] }, "lease.holder": { $ne: null } },
      { $set: { cancelRequested: true, reason: opts.reason, updatedAt: opts.now }, $inc: RESERVE_EVENT },
      { returnDocument: "after" },
    );
  }

  /**
   * Narrows an inbox job's pending dependencies to `pending`. It only ever removes entries:
   * setting the list from a read could put back a dependency that shipped meanwhile.
   */
  keepPendingDeps(jobId: string, pending: string[]): Promise<Job | null> {
    return this.cols.jobs.findOneAndUpdate(
      { _id: jobId, stage: "inbox" },
      { $pull: { pendingDeps: { $nin: pending } } },
      { returnDocument: "after" },
    );
  }

  /**
   * Admits one child under an open composite parent in the inbox: counts it and records when, in
   * one write, owing a settle (the parent's re-check, should the child's creator die before storing
   * it). Null when the parent is not (or no longer) open.
   */
  admitChild(productId: string, parentId: string, now: Date): Promise<Job | null> {
    return this.cols.jobs.findOneAndUpdate(
      { _id: parentId, productId, kind: "composite", stage: "inbox", sealed: { $ne: true } },
      { $inc: { childCount: 1 }, $set: { lastChildAt: now, updatedAt: now, ...owedSettle() } },
      { returnDocument: "after" },
    );
  }

  /**
   * Seals a composite parent in the inbox (no more children), owing the settle that may finish it.
   * Sealing twice is harmless. Null when it is not a composite parent in the inbox.
   */
  seal(productId: string, jobId: string, now: Date): Promise<Job | null> {
    return this.cols.jobs.findOneAndUpdate(
      { _id: jobId, productId, kind: "composite", stage: "inbox" },
      { $set: { sealed: true, updatedAt: now, ...owedSettle() } },
      { returnDocument: "after" },
    );
  }

  /** `dep` shipped: all-mode dependents stop waiting on it, any-mode dependents stop waiting at all. */
  async unblockDependents(dep: Pick<Job, "_id" | "productId">): Promise<void> {
    const { productId } = dep;
    await this.cols.jobs.updateMany(
      { productId, deps: dep._id, depsMode: "all", stage: "inbox" },
      { $pull: { pendingDeps: dep._id } },
    );
    await this.cols.jobs.updateMany(
      { productId, deps: dep._id, depsMode: "any", stage: "inbox" },
      { $set: { pendingDeps: [] } },
    );
  }
}

/** The filter (beyond the fence) and the update of a fenced change. */
function fencedUpdate(change: FencedChange): [Filter<Job>, UpdateFilter<Job>] {
  switch (change.kind) {
    case "renew":
      return [{}, { $set: { "lease.expiresAt": change.expiresAt }, $inc: { "lease.renewals": 1 } }];
    case "advance":
      return [movingFromActive(change.to), { $set: { stage: change.to, updatedAt: change.now }, $inc: RESERVE_EVENT }];
    case "checkpoint":
      return [{}, { $set: { checkpoint: change.checkpoint, updatedAt: change.now }, $inc: RESERVE_EVENT }];
    case "end":
      return [
        { ...movingFromActive(change.to), cancelRequested: change.cancelRequested },
        {
          $set: { stage: change.to, ...LEASE_CLEARED, ...change.set, ...owedSettle() },
          $inc: change.refundAttempt ? { attempt: -1, ...RESERVE_EVENT } : RESERVE_EVENT,
        },
      ];
  }
}
