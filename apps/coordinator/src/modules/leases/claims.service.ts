import type { ClaimedJob, Factory, Job, Run } from "@gigafactory/schema";
import type { FleetMetrics } from "../metrics/fleet-metrics.js";
import { claimSpan } from "../tracing/attempt-trace.js";
import { newId } from "../../db/ids.js";
import { NotFoundError } from "../../errors.js";
import { failpoint } from "../../failpoints.js";
import type { Logger } from "../../logger.js";
import type { EventLog } from "../events/event-log.js";
import { Notifier } from "../events/notifier.js";
import type { FactoriesService } from "../factories/factories.service.js";
import type { JobsRepository } from "../jobs/jobs.repository.js";
import type { LocksRepository } from "../locks/locks.repository.js";
import type { ProfilesRepository } from "../profiles/profiles.repository.js";
import type { RunsRepository } from "../runs/runs.repository.js";
import { HeldLocks } from "./held-locks.js";
import { HeldSeats } from "./held-seats.js";

export interface LeaseTiming {
  leaseTtlMs: number;
}

/** A job this call leased (and locked), whose run and claimed event are still to be written. */
interface Leased {
  job: Job;
  runId: string;
  now: Date;
}

/**
 * Claims: one atomic update per job (`JobsRepository.claimNext`, filter `claimFilter`) that takes
 * the job out of the inbox and gives it a lease with a fresh epoch. Jobs with a named lock then
 * take the lock; when another job holds it, the claim is undone under its epoch. The runs and
 * `claimed` events of every job one call leased are written together, in one round trip.
 *
 * What a claim reads besides the jobs is remembered between claims: the factory
 * (`FactoriesService.forClaim`), the product's held lock names ({@link HeldLocks}) and, for a
 * first try (`retry: false`), the factory's seat count ({@link HeldSeats}). So a claim is at most
 * one read (the factory's held jobs: its seat count, and whether this is a retry), one update
 * per job, and one round trip for the runs and events.
 */
export class ClaimsService {
  private readonly heldLocks: HeldLocks;
  private readonly heldSeats: HeldSeats;

  constructor(
    private readonly deps: {
      jobs: JobsRepository;
      runs: RunsRepository;
      locks: LocksRepository;
      factories: Pick<FactoriesService, "forClaim">;
      profiles: ProfilesRepository;
      events: EventLog;
      /** Its work events (a lock may have been freed) make the held lock names be read again. */
      notifier?: Pick<Notifier, "watch">;
      timing: LeaseTiming;
      /** `lease.maxLockRetries` in options.ts. */
      maxLockRetries: number;
      /** `caches.claimLocksMs` in options.ts (0: read the held lock names at every claim). */
      locksCacheMs?: number;
      /** `caches.claimSeatsMs` in options.ts (0: count the factory's held jobs at every claim). */
      seatsCacheMs?: number;
      /** Observes queue wait at each claim (`modules/metrics`). */
      metrics?: Pick<FleetMetrics, "claimed">;
      logger: Logger;
    },
  ) {
    this.heldLocks = new HeldLocks({ locks: deps.locks, ttlMs: deps.locksCacheMs ?? 0 });
    this.heldSeats = new HeldSeats({ ttlMs: deps.seatsCacheMs ?? 0 });
    deps.notifier?.watch((event) => {
      if (Notifier.isWorkEvent(event)) this.heldLocks.forget(event.productId);
    });
  }

  /**
   * Claims up to `max` jobs for the factory. With a `requestId`, a retry of a claim whose answer
   * was lost gets the jobs the first try leased (those the factory still holds under that id)
   * instead of new ones, so a lost answer burns no attempt and leaves no lease on the seats.
   */
  async claim(
    productId: string,
    factoryId: string,
    max: number,
    requestId?: string,
    retry?: boolean,
  ): Promise<ClaimedJob[]> {
    // A first try (`retry: false`) with room on the factory's remembered seat count reads nothing
    // but the (usually remembered) factory; else the held jobs are counted, together with whether
    // this is a retry, as one small answer, and only a retry reads its jobs whole.
    const [factory, , heldNow] = await Promise.all([
      this.deps.factories.forClaim(productId, factoryId),
      this.heldLocks.names(productId),
      retry === false ? undefined : this.deps.jobs.heldSummary(productId, factoryId, requestId),
    ]);
    // an unknown factory must register first; a draining or gone one gets no new work
    if (!factory) throw new NotFoundError("factory", factoryId);
    const retried = heldNow?.retried === true;
    const already =
      retried && requestId !== undefined ? await this.deps.jobs.heldByClaim(productId, factoryId, requestId) : [];
    if (already.length) return this.resumeClaims(factory, already);
    if (factory.state !== "active") return [];
    // the remembered count serves only a claim it leaves room for; otherwise the jobs are counted
    let held = heldNow?.held;
    if (held === undefined) held = this.heldSeats.roomFor(productId, factoryId, max, factory.seatLimit);
    else this.heldSeats.counted(productId, factoryId, held);
    if (held === undefined) {
      held = (await this.deps.jobs.heldSummary(productId, factoryId, undefined)).held;
      this.heldSeats.counted(productId, factoryId, held);
    }
    const wanted = Math.min(max, factory.seatLimit - held);
    const leased: Leased[] = [];
    let lockRetries = 0;
    while (leased.length < wanted && lockRetries <= this.deps.maxLockRetries) {
      let outcome: Awaited<ReturnType<ClaimsService["leaseOne"]>>;
      try {
        outcome = await this.leaseOne(factory, requestId);
      } catch (error) {
        // jobs already leased in this call must reach the factory, or they would sit on its seats until their leases lapse
        if (leased.length === 0) throw error;
        this.deps.logger.error(
          { err: error, factoryId, claimed: leased.length },
          "claim failed part way; returning what was claimed",
        );
        break;
      }
      if (outcome === "none") break;
      if (outcome === "lock-taken") {
        lockRetries++;
        continue;
      }
      leased.push(outcome);
    }
    if (!leased.length) return [];
    const claimed = await this.startRuns(factory, leased);
    this.heldSeats.leased(productId, factoryId, claimed.length);
    return claimed;
  }

  /**
   * Leases the best claimable job (and takes its lock). The later claims of this call, and of
   * this coordinator, see a lock taken here without reading the names again.
   */
  private async leaseOne(factory: Factory, requestId: string | undefined): Promise<Leased | "none" | "lock-taken"> {
    const { jobs, timing } = this.deps;
    const now = new Date();
    const runId = newId("run");
    const expiresAt = new Date(now.getTime() + timing.leaseTtlMs);
    const heldLocks = await this.heldLocks.names(factory.productId);
    const job = await jobs.claimNext({ factory, heldLocks, now, lease: { runId, expiresAt }, requestId });
    if (!job) return "none";
    failpoint("claim.afterClaim");
    try {
      if (job.lock) {
        if (!(await this.deps.locks.take(job))) {
          // taken through another coordinator since the names were read: read them again
          this.heldLocks.forget(job.productId);
          await this.undoClaim(job, `lock ${job.lock} is held by another job`);
          return "lock-taken";
        }
        this.heldLocks.taken(job.productId, job.lock);
      }
      return { job, runId, now };
    } catch (error) {
      // the factory will never hear of this lease: give the job back now, not when the lease lapses
      await this.undoClaim(job, "the claim failed part way").catch(() => undefined);
      throw error;
    }
  }

  /**
   * Writes the runs and `claimed` events of the jobs this call leased, all in one round trip (runs
   * and events are independent writes). A crash before it leaves leased jobs without them: the
   * factory never heard of those, and its retry of the claim finishes them ({@link resumeClaims}).
   * When it fails, every job of the call goes back (the factory hears of none).
   */
  private async startRuns(factory: Factory, leased: Leased[]): Promise<ClaimedJob[]> {
    let snapshots: Array<ClaimedJob["profileSnapshot"]>;
    try {
      snapshots = await Promise.all(leased.map(({ job }) => this.profileSnapshot(job)));
      await Promise.all([
        this.deps.runs.startEach(
          leased.map(({ job, runId, now }, i) => this.runOf(factory, job, runId, now, snapshots[i])),
        ),
        this.deps.events.recordEach(
          leased.map(({ job, runId }) => ({ job, type: "claimed", data: this.claimedData(factory, job, runId) })),
        ),
      ]);
      failpoint("claim.afterRun");
    } catch (error) {
      // the factory will never hear of these leases: give the jobs back now, not when the leases lapse
      await Promise.all(
        leased.map(({ job }) => this.undoClaim(job, "the claim failed part way").catch(() => undefined)),
      );
      throw error;
    }
    return Promise.all(
      leased.map(async ({ job, runId, now }, i) => {
        this.deps.metrics?.claimed(job.queuedAt, now);
        const trace = claimSpan(job, factory.factoryId, runId);
        return { ...(await this.claimedJob(job, snapshots[i])), ...(trace ? { trace } : {}) };
      }),
    );
  }

  private runOf(
    factory: Factory,
    job: Job,
    runId: string,
    now: Date,
    profileSnapshot: ClaimedJob["profileSnapshot"],
  ): Run {
    return {
      _id: runId,
      productId: job.productId,
      jobId: job._id,
      // the run's own number, never reused (`job.attempt` is given back by a release or a retry)
      attempt: job.runCount ?? job.attempt,
      epoch: job.lease.epoch,
      factoryId: factory.factoryId,
      engine: job.engine,
      ...(profileSnapshot ? { profileSnapshot } : {}),
      startedAt: now,
      insights: {},
    };
  }

  private claimedData(factory: Factory, job: Job, runId: string): Record<string, unknown> {
    return { factoryId: factory.factoryId, attempt: job.attempt, runId, epoch: job.lease.epoch };
  }

  /**
   * A retried claim's jobs. The first try may have died between taking the lease and recording it
   * (the lock, the run, the claimed event): each is finished here, idempotently, so a job never
   * runs without its run or its lock. A lock another job took meanwhile gives the job back.
   */
  private async resumeClaims(factory: Factory, held: Job[]): Promise<ClaimedJob[]> {
    const resumed: ClaimedJob[] = [];
    for (const job of held) {
      if (job.lock && !(await this.deps.locks.take(job))) {
        this.heldLocks.forget(job.productId);
        await this.undoClaim(job, `lock ${job.lock} is held by another job`);
        continue;
      }
      const runId = job.lease.runId ?? "";
      const profileSnapshot = await this.profileSnapshot(job);
      // each written only where the first try did not (the run by id, the event in its own seq)
      await Promise.all([
        this.deps.runs.startOnce(this.runOf(factory, job, runId, job.updatedAt, profileSnapshot)),
        this.deps.events.fill(job, job.eventSeq, "claimed", this.claimedData(factory, job, runId)),
      ]);
      resumed.push(await this.claimedJob(job, profileSnapshot));
    }
    return resumed;
  }

  private async profileSnapshot(job: Job): Promise<ClaimedJob["profileSnapshot"]> {
    return job.profile
      ? (await this.deps.profiles.find(job.productId, job.profile.name, job.profile.version))?.snapshot
      : undefined;
  }

  /** A held job as its claim answers it. */
  private async claimedJob(job: Job, snapshot?: ClaimedJob["profileSnapshot"]): Promise<ClaimedJob> {
    const profileSnapshot = snapshot ?? (await this.profileSnapshot(job));
    return {
      job,
      runId: job.lease.runId ?? "",
      epoch: job.lease.epoch,
      leaseExpiresAt: job.lease.expiresAt ?? new Date(),
      leaseTtlMs: this.deps.timing.leaseTtlMs,
      ...(profileSnapshot ? { profileSnapshot } : {}),
    };
  }

  /** Puts a just-claimed job back (conditional on its epoch, which still grows so the undone lease stays fenced). */
  private async undoClaim(job: Job, reason: string): Promise<void> {
    const now = new Date();
    const undone = await this.deps.jobs.undoClaim(job, now);
    if (!undone) return;
    if (job.lock) {
      await this.deps.locks.free({ productId: job.productId, name: job.lock, jobId: job._id, epoch: job.lease.epoch });
      this.heldLocks.forget(job.productId);
    }
    // the claim reserved an event seq; fill it so the job's event stream has no gap (unless the claimed event made it)
    await this.deps.events
      .record(job, "requeued", { reason, ...(job.lock ? { lock: job.lock } : {}) })
      .catch(() => undefined);
    // its run, when it was started, ends here: the factory never heard of it
    await this.deps.runs.finish(job.lease.runId, { result: "released", endedAt: now, reason });
  }
}
