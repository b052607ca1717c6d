import {
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_TIMEOUT_MS,
  type Job,
  type JobCreate,
  type JobEvent,
  type JobListInput,
  type Run,
  type Stage,
  isTerminalStage,
  parseTrackerRef,
  titleFromBody,
} from "@gigafactory/schema";
import type { FleetMetrics } from "../metrics/fleet-metrics.js";
import { traceContextOf } from "../tracing/tracing.js";
import { isDuplicateKey } from "../../db/collections.js";
import { newId } from "../../db/ids.js";
import { InvalidInputError, NotFoundError, PreconditionError } from "../../errors.js";
import { failpoint } from "../../failpoints.js";
import type { EventLog } from "../events/event-log.js";
import type { Notifier } from "../events/notifier.js";
import type { PolicyService } from "../policy/policy.service.js";
import type { ProfilesRepository } from "../profiles/profiles.repository.js";
import type { RunsRepository } from "../runs/runs.repository.js";
import { decodeCursor, encodeCursor } from "./cursor.js";
import type { JobsRepository } from "./jobs.repository.js";
import type { OutcomesService } from "./outcomes.service.js";
import { childRefusal, childrenToRetry, parentOnChildRetry, pendingDeps } from "./settle-rules.js";

/** How many times `cancel` reads and decides again when the job moved under it. */
const CANCEL_ROUNDS = 5;

type ListQuery = Omit<JobListInput, "limit" | "productId"> & { limit: number };

/** The job rules people and services use: create, read, cancel, retry, review. */
export class JobsService {
  constructor(
    private readonly deps: {
      /** Counts created jobs (`modules/metrics`). */
      metrics?: Pick<FleetMetrics, "jobCreated">;
      jobs: JobsRepository;
      runs: RunsRepository;
      profiles: ProfilesRepository;
      events: EventLog;
      notifier: Notifier;
      outcomes: OutcomesService;
      policy: PolicyService;
    },
  ) {}

  /**
   * Idempotent on `idempotencyKey`: the same key in the same product returns the existing job.
   * `opts.scheduleId` links a job a schedule fired back to it.
   * A tracker reference (`github:…`, `items:…`) as `trackerItemId` is set by `tracker.importItem`
   * only (`fromTracker`): echoes go to it with the coordinator's tracker token, so a caller must not
   * be able to point a job at an item it did not import.
   */
  async create(
    productId: string,
    input: JobCreate,
    opts: { fromTracker?: boolean; scheduleId?: string } = {},
  ): Promise<{ job: Job; created: boolean }> {
    const { jobs } = this.deps;
    if (input.trackerItemId && !opts.fromTracker && parseTrackerRef(input.trackerItemId))
      throw new InvalidInputError("trackerItemId", "github:/items: references are set by tracker.importItem only");
    const idempotencyKey = input.idempotencyKey ?? newId("key");
    const existing = await jobs.findByKey(productId, idempotencyKey);
    // a creator that died before settling its deps is finished by the next identical create
    if (existing)
      return {
        job: existing.stage === "inbox" && existing.pendingDeps.length ? await this.settleDeps(existing) : existing,
        created: false,
      };

    // guard rails refuse before anything is written; quality rails add their gates (modules/policy)
    const { input: ruled, rails } = await this.deps.policy.apply(productId, input, trackerLabels(input.manifest));
    const profile = input.profile
      ? await this.deps.profiles.find(productId, input.profile.name, input.profile.version)
      : undefined;
    if (input.profile && !profile)
      throw new InvalidInputError(
        "profile",
        `profile ${input.profile.name}${input.profile.version ? `@${input.profile.version}` : ""} is not published`,
      );
    const deps = await this.resolveDeps(productId, input.deps);
    if (input.parentId) await this.admissible(productId, input.parentId);

    const now = new Date();
    const job: Job = {
      _id: newId("job"),
      productId,
      idempotencyKey,
      title: input.title ?? titleFromBody(input.bodyMd) ?? idempotencyKey,
      stage: "inbox",
      priority: input.priority,
      capabilities: [...new Set(input.capabilities)],
      engine: input.engine,
      bodyMd: input.bodyMd,
      manifest: input.manifest,
      deps: deps.map((dep) => dep._id),
      depsMode: input.depsMode,
      pendingDeps: pendingDeps(input.depsMode, deps),
      kind: input.kind,
      timeoutMs: input.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      maxAttempts: input.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
      attempt: 0,
      notBefore: input.notBefore ?? now,
      verify: ruled.verify,
      review: input.review,
      awaitingApproval: false,
      lease: { holder: null, epoch: 0, expiresAt: null, renewals: 0, runId: null },
      // the `created` event's seq, reserved by the insert itself
      eventSeq: 1,
      cancelRequested: false,
      createdAt: now,
      updatedAt: now,
      queuedAt: now,
      ...optional({
        engineClass: input.engineClass,
        command: input.command,
        profile: profile ? { name: profile.name, version: profile.version } : undefined,
        parentId: input.parentId,
        lock: input.lock,
        repo: input.repo,
        baseRef: input.baseRef,
        cwd: input.cwd,
        network: input.network,
        trackerItemId: input.trackerItemId,
        scheduleId: opts.scheduleId,
        rails,
        // the creating call's span: the first attempt's spans join this trace (tracing on only)
        traceparent: traceContextOf()?.traceparent,
      }),
    };
    // counted on its parent before it is stored, so the parent cannot settle without it
    const parent = input.parentId ? await this.admitChild(productId, input.parentId, now) : undefined;
    let stored: Job;
    try {
      stored = await jobs.insert(job);
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
      const winner = await jobs.findByKey(productId, idempotencyKey);
      if (!winner) throw error;
      return { job: winner, created: false };
    }
    if (parent) await jobs.clearSettle(parent);
    this.deps.metrics?.jobCreated();
    failpoint("create.afterInsert");
    await this.deps.events.record(stored, "created", {
      title: job.title,
      engine: job.engine,
      capabilities: job.capabilities,
    });
    const settled = await this.settleDeps(stored);
    return { job: settled, created: true };
  }

  /** Refuses a child under a parent that is not an open composite job (rules in settle-rules.ts). */
  private async admissible(productId: string, parentId: string): Promise<void> {
    const parent = await this.deps.jobs.find(productId, parentId);
    if (parent?.kind !== "composite")
      throw new InvalidInputError("parentId", `${parentId} is not a composite job of this product`);
    const refusal = childRefusal(parent);
    if (refusal) throw new PreconditionError(refusal, { parentId, stage: parent.stage, sealed: !!parent.sealed });
  }

  /** Counts a child on its parent, atomically with the parent being open; refuses otherwise. */
  private async admitChild(productId: string, parentId: string, now: Date): Promise<Job> {
    const admitted = await this.deps.jobs.admitChild(productId, parentId, now);
    if (admitted) return admitted;
    await this.admissible(productId, parentId); // sealed or finished meanwhile: say which
    throw new PreconditionError(`parent ${parentId} changed while adding a child; try again`, { parentId });
  }

  /**
   * Closes a composite parent's set of children; it settles once they have all finished (at once
   * when they have, or when it has none). Sealing a sealed parent returns it as it is.
   */
  async seal(productId: string, jobId: string): Promise<Job> {
    const sealed = await this.deps.outcomes.seal(productId, jobId);
    if (sealed) return sealed;
    const job = await this.get(productId, jobId);
    if (job.kind !== "composite")
      throw new PreconditionError(`job ${jobId} is not a composite job`, { kind: job.kind });
    if (job.sealed) return job;
    throw new PreconditionError(`job ${jobId} is ${job.stage} and cannot be sealed`, { stage: job.stage });
  }

  /**
   * A dependency may have finished while this job was being created or retried: re-check once it
   * is stored (which recorded the re-check as owed), then drop the marker.
   */
  private async settleDeps(job: Job): Promise<Job> {
    const settled = await this.deps.outcomes.recheckDeps(job);
    await this.deps.jobs.clearSettle(job);
    return settled;
  }

  private async resolveDeps(productId: string, refs: string[]): Promise<Job[]> {
    if (refs.length === 0) return [];
    const found = await this.deps.jobs.findRefs(productId, refs);
    const missing = refs.filter((ref) => !found.some((job) => job._id === ref || job.idempotencyKey === ref));
    if (missing.length) throw new InvalidInputError("deps", `unknown job(s): ${missing.join(", ")}`);
    return found;
  }

  async get(productId: string, jobId: string): Promise<Job> {
    const job = await this.deps.jobs.find(productId, jobId);
    if (!job) throw new NotFoundError("job", jobId);
    return job;
  }

  async list(productId: string, query: ListQuery): Promise<{ items: Job[]; nextCursor: string | null }> {
    const { cursor, limit, ...criteria } = query;
    const beforeId = cursor ? decodeCursor(cursor) : undefined;
    const items = await this.deps.jobs.list({ ...criteria, productId, beforeId }, limit + 1);
    const page = items.slice(0, query.limit);
    const last = page.at(-1);
    return { items: page, nextCursor: items.length > limit && last ? encodeCursor(last._id) : null };
  }

  /**
   * Inbox (and parked) jobs are cancelled at once; a running job's holder is told and ends it.
   * Decided from what the writes matched, not from the read: when neither matched (the job moved
   * between the read and the write), it reads again and decides again, a few times.
   */
  async cancel(productId: string, jobId: string, reason = "cancelled by request"): Promise<Job> {
    let job = await this.get(productId, jobId);
    for (let round = 0; round < CANCEL_ROUNDS && !isTerminalStage(job.stage); round++) {
      const now = new Date();
      if (job.stage === "inbox" || (job.stage === "review" && job.awaitingApproval)) {
        const moved = await this.deps.jobs.move(jobId, {
          from: job.stage,
          to: "cancelled",
          where: { productId, unheld: true },
          set: { reason, awaitingApproval: false, endedAt: now, updatedAt: now },
        });
        if (moved) {
          failpoint("cancel.afterMove");
          await this.deps.events.record(moved, "cancelled", { reason });
          await this.deps.outcomes.settle(moved);
          return moved;
        }
      }
      const running = await this.deps.jobs.requestCancel(productId, jobId, { reason, now });
      if (running) {
        await this.deps.events.record(running, "cancel_requested", {
          reason,
          factoryId: running.lease.holder,
          epoch: running.lease.epoch,
        });
        return running;
      }
      job = await this.get(productId, jobId);
    }
    throw new PreconditionError(`job ${jobId} is ${job.stage} and cannot be cancelled`, { stage: job.stage });
  }

  /**
   * failed/cancelled → inbox with a fresh attempt count; earlier attempts stay in `runs`. A
   * composite parent re-opens and retries its failed and cancelled children; a child re-opens its
   * failed or cancelled parent (rules in settle-rules.ts).
   */
  async retry(productId: string, jobId: string): Promise<Job> {
    const job = await this.get(productId, jobId);
    if (job.stage !== "failed" && job.stage !== "cancelled")
      throw new PreconditionError(`job ${jobId} is ${job.stage}; only failed or cancelled jobs can be retried`, {
        stage: job.stage,
      });
    if (job.kind === "composite") return this.retryParent(job);
    const parent = job.parentId ? await this.deps.jobs.find(productId, job.parentId) : null;
    if (parent) {
      const effect = parentOnChildRetry(parent);
      if (typeof effect === "object") throw new PreconditionError(effect.refuse, { parentId: parent._id });
      // the parent first: should this request die now, the reaper settles the parent again
      if (effect === "reopen") await this.reopen(parent);
    }
    const retried = await this.retryOne(job);
    if (parent) await this.deps.jobs.clearSettle((await this.deps.jobs.find(productId, parent._id)) ?? parent);
    return retried;
  }

  private async retryParent(parent: Job): Promise<Job> {
    const reopened = await this.reopen(parent);
    if (!reopened) throw new PreconditionError(`job ${parent._id} changed while retrying; try again`);
    for (const child of childrenToRetry(await this.deps.jobs.children(parent.productId, parent._id))) {
      await this.retryOne(child).catch((error: unknown) => {
        if (!(error instanceof PreconditionError)) throw error; // retried by someone else meanwhile
      });
    }
    // settles at once when no child is left to wait for
    await this.deps.outcomes.settle(reopened);
    return this.get(parent.productId, parent._id);
  }

  /** A finished composite parent back to the inbox, still sealed, owing the settle that re-checks it. */
  private async reopen(parent: Job): Promise<Job | null> {
    const now = new Date();
    const moved = await this.deps.jobs.move(parent._id, {
      from: parent.stage,
      to: "inbox",
      where: { productId: parent.productId, kind: "composite" },
      set: { cancelRequested: false, queuedAt: now, updatedAt: now },
      unset: ["reason", "endedAt"],
      owesSettle: true,
    });
    if (moved) await this.deps.events.record(moved, "retried", { from: parent.stage });
    return moved;
  }

  private async retryOne(job: Job): Promise<Job> {
    const { productId, _id: jobId } = job;
    const deps = await this.deps.jobs.findRefs(productId, job.deps);
    const now = new Date();
    const moved = await this.deps.jobs.move(jobId, {
      from: job.stage,
      to: "inbox",
      where: { productId },
      set: {
        attempt: 0,
        cancelRequested: false,
        awaitingApproval: false,
        pendingDeps: pendingDeps(job.depsMode, deps),
        notBefore: now,
        queuedAt: now,
        updatedAt: now,
      },
      clearLease: true,
      unset: ["reason", "endedAt"],
      // the dependency re-check below
      owesSettle: job.deps.length > 0,
    });
    if (!moved) throw new PreconditionError(`job ${jobId} changed while retrying; try again`);
    await this.deps.events.record(moved, "retried", { from: job.stage });
    // a dependency may have shipped or failed between the read above and the move
    return this.settleDeps(moved);
  }

  async approve(productId: string, jobId: string, note?: string): Promise<Job> {
    return this.decide(productId, jobId, "shipped", note);
  }

  /** Rejection sends the job back for another attempt, or fails it when none are left. */
  async reject(productId: string, jobId: string, note?: string): Promise<Job> {
    const job = await this.get(productId, jobId);
    if (job.cancelRequested) return this.decide(productId, jobId, "cancelled", note);
    return this.decide(productId, jobId, job.attempt < job.maxAttempts ? "inbox" : "failed", note);
  }

  private async decide(productId: string, jobId: string, to: Stage, note: string | undefined): Promise<Job> {
    const now = new Date();
    const moved = await this.deps.jobs.move(jobId, {
      from: "review",
      to,
      where: { productId, awaitingApproval: true },
      set: {
        awaitingApproval: false,
        updatedAt: now,
        ...(to === "inbox" ? { queuedAt: now, notBefore: now } : { endedAt: now }),
        ...(note ? { reason: note } : {}),
      },
    });
    if (!moved) {
      await this.get(productId, jobId); // NOT_FOUND before "not waiting"
      throw new PreconditionError(`job ${jobId} is not waiting for approval`);
    }
    failpoint(to === "shipped" ? "approve.afterMove" : "reject.afterMove");
    await this.deps.events.record(moved, to === "shipped" ? "approved" : "rejected", {
      ...(note ? { note } : {}),
      stage: to,
    });
    await this.deps.outcomes.settle(moved);
    return moved;
  }

  async events(
    productId: string,
    jobId: string,
    afterSeq: number,
    limit: number,
  ): Promise<{ items: JobEvent[]; nextSeq: number }> {
    await this.get(productId, jobId);
    const items = await this.deps.events.repository.page(jobId, afterSeq, limit);
    return { items, nextSeq: items.at(-1)?.seq ?? afterSeq };
  }

  async runs(productId: string, jobId: string): Promise<Run[]> {
    await this.get(productId, jobId);
    return this.deps.runs.forJob(productId, jobId);
  }
}

/** Drops undefined values so optional fields are absent rather than stored as null. */
function optional<T extends Record<string, unknown>>(fields: T): Partial<{ [K in keyof T]: Exclude<T[K], undefined> }> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as Partial<{
    [K in keyof T]: Exclude<T[K], undefined>;
  }>;
}

/** The tracker item's labels an import put in the manifest (`manifest.tracker.labels`), for quality rails. */
function trackerLabels(manifest: unknown): string[] {
  const tracker = (manifest as { tracker?: { labels?: unknown } } | null)?.tracker;
  return Array.isArray(tracker?.labels)
    ? tracker.labels.filter((label): label is string => typeof label === "string")
    : [];
}
