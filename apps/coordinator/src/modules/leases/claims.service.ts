import type { ClaimedJob, Factory, Job } from "@gigafactory/schema";
import type { FleetMetrics } from "../metrics/fleet-metrics.js";
import { claimSpan } from "../tracing/attempt-trace.js";
import { newId } from "../../db/ids.js";
import { NotFoundError } from "../../errors.js";
import { failpoint } from "../../failpoints.js";
import type { Logger } from "../../logger.js";
import type { EventLog } from "../events/event-log.js";
import type { FactoriesRepository } from "../factories/factories.repository.js";
import type { JobsRepository } from "../jobs/jobs.repository.js";
import type { LocksRepository } from "../locks/locks.repository.js";
import type { ProfilesRepository } from "../profiles/profiles.repository.js";
import type { RunsRepository } from "../runs/runs.repository.js";

export interface LeaseTiming {
  leaseTtlMs: number;
}

/**
 * Claims: one atomic update per job (`JobsRepository.claimNext`, filter `claimFilter`) that takes
 * the job out of the inbox and gives it a lease with a fresh epoch. Jobs with a named lock then
 * take the lock; when another job holds it, the claim is undone under its epoch.
 */
export class ClaimsService {
  constructor(
    private readonly deps: {
      jobs: JobsRepository;
      runs: RunsRepository;
      locks: LocksRepository;
      factories: FactoriesRepository;
      profiles: ProfilesRepository;
      events: EventLog;
      timing: LeaseTiming;
      /** `lease.maxLockRetries` in options.ts. */
      maxLockRetries: number;
      /** Observes queue wait at each claim (`modules/metrics`). */
      metrics?: Pick<FleetMetrics, "claimed">;
      logger: Logger;
    },
  ) {}

  /**
   * Claims up to `max` jobs for the factory. With a `requestId`, a retry of a claim whose answer
   * was lost gets the jobs the first try leased (those the factory still holds under that id)
   * instead of new ones, so a lost answer burns no attempt and leaves no lease on the seats.
   */
  async claim(productId: string, factoryId: string, max: number, requestId?: string): Promise<ClaimedJob[]> {
    // independent reads in one round trip: the claim path is latency-bound per factory. The held
    // jobs give both the seat count and whether this is a retry; only a retry reads its jobs whole
    const [factory, heldClaims, heldLocks] = await Promise.all([
      this.deps.factories.find(productId, factoryId),
      this.deps.jobs.heldClaims(productId, factoryId),
      this.deps.locks.heldNames(productId),
    ]);
    const held = heldClaims.length;
    const retried = requestId !== undefined && heldClaims.some((claim) => claim.claimRequestId === requestId);
    const already = retried ? await this.deps.jobs.heldByClaim(productId, factoryId, requestId) : [];
    // an unknown factory must register first; a draining or gone one gets no new work
    if (!factory) throw new NotFoundError("factory", factoryId);
    if (already.length) return this.resumeClaims(factory, already);
    if (factory.state !== "active") return [];
    const wanted = Math.min(max, factory.seatLimit - held);
    const claimed: ClaimedJob[] = [];
    let lockRetries = 0;
    let locks: string[] | undefined = heldLocks;
    while (claimed.length < wanted && lockRetries <= this.deps.maxLockRetries) {
      // later claims of this call must see the locks taken since
      let outcome: Awaited<ReturnType<ClaimsService["claimOne"]>>;
      try {
        outcome = await this.claimOne(factory, locks ?? (await this.deps.locks.heldNames(productId)), requestId);
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

  private async claimOne(
    factory: Factory,
    heldLocks: string[],
    requestId: string | undefined,
  ): Promise<ClaimedJob | "none" | "lock-taken"> {
    const { jobs, timing } = this.deps;
    const now = new Date();
    const runId = newId("run");
    const expiresAt = new Date(now.getTime() + timing.leaseTtlMs);
    const job = await jobs.claimNext({ factory, heldLocks, now, lease: { runId, expiresAt }, requestId });
    if (!job) return "none";
    failpoint("claim.afterClaim");
    try {
      if (job.lock && !(await this.deps.locks.take(job))) {
        await this.undoClaim(job, `lock ${job.lock} is held by another job`);
        return "lock-taken";
      }
      return await this.startRun(factory, job, runId, now);
    } catch (error) {
      // the factory will never hear of this lease: give the job back now, not when the lease lapses
      await this.undoClaim(job, "the claim failed part way").catch(() => undefined);
      throw error;
    }
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
        await this.undoClaim(job, `lock ${job.lock} is held by another job`);
        continue;
      }
      resumed.push(await this.startRun(factory, job, job.lease.runId ?? "", job.updatedAt, { resumed: true }));
    }
    return resumed;
  }

  private async startRun(
    factory: Factory,
    job: Job,
    runId: string,
    now: Date,
    opts: { resumed?: boolean } = {},
  ): Promise<ClaimedJob> {
    const { runs } = this.deps;
    const profileSnapshot = await this.profileSnapshot(job);
    const claimedData = { factoryId: factory.factoryId, attempt: job.attempt, runId, epoch: job.lease.epoch };
    // the run and the claimed event are independent writes: one round trip for both. A resumed
    // claim writes each only where the first try did not (the run by id, the event in its own seq)
    await Promise.all([
      runs[opts.resumed ? "startOnce" : "start"]({
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
      }),
      opts.resumed
        ? this.deps.events.fill(job, job.eventSeq, "claimed", claimedData)
        : this.deps.events.record(job, "claimed", claimedData),
    ]);
    if (opts.resumed) return this.claimedJob(job, profileSnapshot);
    failpoint("claim.afterRun");
    this.deps.metrics?.claimed(job.queuedAt, now);
    const trace = claimSpan(job, factory.factoryId, runId);
    return { ...(await this.claimedJob(job, profileSnapshot)), ...(trace ? { trace } : {}) };
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
    if (job.lock)
      await this.deps.locks.free({ productId: job.productId, name: job.lock, jobId: job._id, epoch: job.lease.epoch });
    // the claim reserved an event seq; fill it so the job's event stream has no gap (unless the claimed event made it)
    await this.deps.events
      .record(job, "requeued", { reason, ...(job.lock ? { lock: job.lock } : {}) })
      .catch(() => undefined);
    // its run, when it was started, ends here: the factory never heard of it
    await this.deps.runs.finish(job.lease.runId, { result: "released", endedAt: now, reason });
  }
}
