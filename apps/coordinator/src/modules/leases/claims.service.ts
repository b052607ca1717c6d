import type { ClaimedJob, Factory, Job } from "@gigafactory/schema";
import type { Collections } from "../../db/collections.js";
import { isDuplicateKey } from "../../db/collections.js";
import { newId } from "../../db/ids.js";
import { NotFoundError } from "../../errors.js";
import type { Logger } from "../../logger.js";
import { type EventLog, RESERVE_EVENT } from "../events/event-log.js";
import type { FactoriesRepository } from "../factories/factories.repository.js";
import { LEASE_CLEARED, type JobsRepository, moving } from "../jobs/jobs.repository.js";
import { lockId } from "../jobs/outcomes.service.js";
import type { ProfilesRepository } from "../profiles/profiles.repository.js";

export interface LeaseTiming {
  leaseTtlMs: number;
}

/** How many lock collisions one claim call tolerates before giving up (each one is a job skipped). */
const MAX_LOCK_RETRIES = 20;

/**
 * Claims: one atomic `findOneAndUpdate` per job that takes the job out of the inbox and
 * gives it a lease with a fresh epoch. Jobs with a named lock then insert the lock document;
 * a duplicate key means another job holds it, and the claim is undone under its epoch.
 */
export class ClaimsService {
  constructor(
    private readonly deps: {
      cols: Collections;
      jobs: JobsRepository;
      factories: FactoriesRepository;
      profiles: ProfilesRepository;
      events: EventLog;
      timing: LeaseTiming;
      logger: Logger;
    },
  ) {}

  async claim(productId: string, factoryId: string, max: number): Promise<ClaimedJob[]> {
    // independent reads in one round trip: the claim path is latency-bound per factory
    const [factory, held, heldLocks] = await Promise.all([
      this.deps.factories.find(productId, factoryId),
      this.deps.jobs.countHeldBy(productId, factoryId),
      this.heldLocks(productId),
    ]);
    // an unknown factory must register first; a draining or gone one gets no new work
    if (!factory) throw new NotFoundError("factory", factoryId);
    if (factory.state !== "active") return [];
    const wanted = Math.min(max, factory.seatLimit - held);
    const claimed: ClaimedJob[] = [];
    let lockRetries = 0;
    let locks: string[] | undefined = heldLocks;
    while (claimed.length < wanted && lockRetries <= MAX_LOCK_RETRIES) {
      // later claims of this call must see the locks taken since
      let outcome: Awaited<ReturnType<ClaimsService["claimOne"]>>;
      try {
        outcome = await this.claimOne(factory, locks ?? (await this.heldLocks(productId)));
      } catch (error) {
        // jobs already leased in this call must reach the factory, or they would sit on its seats until their leases lapse
        if (claimed.length === 0) throw error;
        this.deps.logger.error(
          { err: error, factoryId, claimed: claimed.length },
          "claim failed part way; returning what was claimed",
        );
        break;
      }
      locks = undefined;
      if (outcome === "none") break;
      if (outcome === "lock-taken") {
        lockRetries++;
        continue;
      }
      claimed.push(outcome);
    }
    return claimed;
  }

  private heldLocks(productId: string): Promise<string[]> {
    return this.deps.cols.locks.distinct("name", { productId });
  }

  private async claimOne(factory: Factory, heldLocks: string[]): Promise<ClaimedJob | "none" | "lock-taken"> {
    const { jobs, timing } = this.deps;
    const now = new Date();
    const runId = newId("run");
    const expiresAt = new Date(now.getTime() + timing.leaseTtlMs);
    const job = await jobs.claimNext(
      {
        productId: factory.productId,
        ...moving("inbox", "building"),
        kind: "leaf",
        pendingDeps: { $size: 0 },
        notBefore: { $lte: now },
        cancelRequested: false,
        // required capabilities ⊆ the factory's: no required capability outside the offered set
        capabilities: { $not: { $elemMatch: { $nin: factory.capabilities } } },
        engine: { $in: factory.engines },
        ...(heldLocks.length ? { lock: { $nin: heldLocks } } : {}),
      },
      {
        $set: {
          stage: "building",
          "lease.holder": factory.factoryId,
          "lease.expiresAt": expiresAt,
          "lease.renewals": 0,
          "lease.runId": runId,
          updatedAt: now,
        },
        $inc: { "lease.epoch": 1, attempt: 1, ...RESERVE_EVENT },
      },
    );
    if (!job) return "none";
    try {
      if (job.lock && !(await this.takeLock(job))) {
        await this.undoClaim(job, `lock ${job.lock} is held by another job`);
        return "lock-taken";
      }
      return await this.startRun(factory, job, runId, now, expiresAt);
    } catch (error) {
      // the factory will never hear of this lease: give the job back now, not when the lease lapses
      await this.undoClaim(job, "the claim failed part way").catch(() => undefined);
      throw error;
    }
  }

  private async startRun(factory: Factory, job: Job, runId: string, now: Date, expiresAt: Date): Promise<ClaimedJob> {
    const { cols, timing } = this.deps;
    const profileSnapshot = job.profile
      ? (await this.deps.profiles.find(job.productId, job.profile.name, job.profile.version))?.snapshot
      : undefined;
    // the run and the claimed event are independent writes: one round trip for both
    await Promise.all([
      cols.runs.insertOne({
        _id: runId,
        productId: job.productId,
        jobId: job._id,
        attempt: job.attempt,
        epoch: job.lease.epoch,
        factoryId: factory.factoryId,
        engine: job.engine,
        ...(profileSnapshot ? { profileSnapshot } : {}),
        startedAt: now,
        insights: {},
      }),
      this.deps.events.record(job, "claimed", {
        factoryId: factory.factoryId,
        attempt: job.attempt,
        runId,
        epoch: job.lease.epoch,
      }),
    ]);
    return {
      job,
      runId,
      epoch: job.lease.epoch,
      leaseExpiresAt: expiresAt,
      leaseTtlMs: timing.leaseTtlMs,
      ...(profileSnapshot ? { profileSnapshot } : {}),
    };
  }

  /** Inserts the lock document; on a collision undoes the claim (conditional on its epoch). */
  private async takeLock(job: Job): Promise<boolean> {
    const lock = job.lock as string;
    const doc = {
      _id: lockId(job.productId, lock),
      productId: job.productId,
      name: lock,
      jobId: job._id,
      epoch: job.lease.epoch,
      acquiredAt: new Date(),
    };
    try {
      await this.deps.cols.locks.insertOne(doc);
      return true;
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
      // a lock left by an earlier lease of this same job is ours to take over
      const stale = await this.deps.cols.locks.replaceOne(
        { _id: doc._id, jobId: job._id, epoch: { $lt: doc.epoch } },
        doc,
      );
      if (stale.matchedCount === 1) return true;
      return false;
    }
  }

  /** Puts a just-claimed job back (conditional on its epoch, which still grows so the undone lease stays fenced). */
  private async undoClaim(job: Job, reason: string): Promise<void> {
    const undone = await this.deps.jobs.update(
      {
        _id: job._id,
        "lease.epoch": job.lease.epoch,
        "lease.holder": job.lease.holder,
        ...moving("building", "inbox"),
      },
      { $set: { stage: "inbox", ...LEASE_CLEARED, updatedAt: new Date() }, $inc: { "lease.epoch": 1, attempt: -1 } },
    );
    if (!undone) return;
    if (job.lock)
      await this.deps.cols.locks.deleteOne({
        _id: lockId(job.productId, job.lock),
        jobId: job._id,
        epoch: job.lease.epoch,
      });
    // the claim reserved an event seq; fill it so the job's event stream has no gap (unless the claimed event made it)
    await this.deps.events
      .record(job, "requeued", { reason, ...(job.lock ? { lock: job.lock } : {}) })
      .catch(() => undefined);
  }
}
