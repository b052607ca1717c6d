import { randomUUID } from "node:crypto";
import type {
  ActiveStage,
  Checkpoint,
  ClaimedJob,
  CompletionResult,
  Fence,
  Insights,
  Job,
  NewEvent,
  ProfileSnapshot,
  VerifyResult,
} from "@gigafactory/schema";
import { ProfileSnapshot as ProfileSnapshotSchema, REASON_MAX, type Stage } from "@gigafactory/schema";
import type { Engine, EngineContext, EngineResult } from "../engines/engine.js";
import type { Logger } from "../logger.js";
import type { FactoryMetrics, RunOutcome } from "../metrics/factory-metrics.js";
import { contextFrom, endSpan, tracer } from "../tracing/tracing.js";
import { engineSpanAttributes } from "../tracing/genai.js";
import { attemptLimitMs, selfFenceMargin, WATCHDOG_SLACK_MS } from "../options.js";
import { Workspace } from "../workspace/workspace.js";
import {
  type AttemptArtifact,
  diffArtifact,
  EngineLog,
  engineLogArtifact,
  uploadAttemptArtifact,
} from "./artifacts.js";
import { EventBatcher } from "./event-batcher.js";
import type { Sandbox } from "../sandbox/sandbox.js";
import { FencedSignal, fencedWrite } from "./fence.js";
import type { RunnerClient } from "./runner-client.js";
import { LeaseKeeper } from "./lease-keeper.js";
import { type PhaseHost, reviewPhase, verifyPhase } from "./phases.js";
import { RunningGroup } from "./running-group.js";
import { isSilent, nextStopReason, type StopReason, StoppedSignal } from "./stop-reason.js";

export interface JobRunnerDeps {
  client: RunnerClient;
  factoryId: string;
  workDir: string;
  engines: ReadonlyMap<string, Engine>;
  env: Record<string, string>;
  killGraceMs: number;
  /** Engines and gates run in it; undefined only when the factory was started with `--no-sandbox`. */
  sandbox?: Sandbox;
  logger: Logger;
  /** This factory's Prometheus metrics (`--metrics-addr`); absent when off. */
  metrics?: FactoryMetrics;
  /** Added to the longest time the attempt's engine, reviewer and gates may take before the watchdog gives the lease up. @defaultValue {@link WATCHDOG_SLACK_MS} */
  watchdogSlackMs?: number;
  /** When the claim was sent (epoch ms): the lease holds at least until this plus its TTL. @defaultValue now */
  claimedAt?: number;
}

/**
 * Runs one claimed job to the end of its attempt: workspace, engine, events, lease renewal,
 * checkpoint, verify gates, artifacts, completion. Every write carries the fence; the first
 * `FENCED` answer stops the engine and the runner reports nothing more.
 */
export class JobRunner implements PhaseHost {
  readonly jobId: string;
  readonly epoch: number;
  readonly job: Job;
  /** Settles when the attempt is over, or when the watchdog gave it up (whatever hung may still be running). */
  readonly done: Promise<void>;
  private readonly abort = new AbortController();
  readonly signal: AbortSignal = this.abort.signal;
  private stopReason: StopReason | undefined;
  private readonly lease: LeaseKeeper;
  private readonly batcher: EventBatcher;
  private workspace: Workspace | undefined;
  readonly group = new RunningGroup((pgid) => {
    this.workspace
      ?.recordGroup(pgid)
      .catch((error: unknown) =>
        this.logger.warn({ err: error, pgid }, "could not note the process group in the workspace record"),
      );
  });
  private readonly engineLog = new EngineLog();
  /** `engine.log` on its way, started as soon as nothing more is added to it ({@link startLogUpload}). */
  private logUpload: Promise<void> | undefined;
  /** The stage `complete` left the job in. */
  private finalStage: Stage | undefined;
  /** The result `complete` reported, once the coordinator accepted it. */
  private completed: CompletionResult | undefined;
  private readonly logger: Logger;

  constructor(
    private readonly claimed: ClaimedJob,
    readonly deps: JobRunnerDeps,
  ) {
    this.job = claimed.job;
    this.jobId = claimed.job._id;
    this.epoch = claimed.epoch;
    this.logger = deps.logger.child({ jobId: this.jobId, epoch: this.epoch });
    this.batcher = new EventBatcher({
      send: (events, requestId) =>
        this.write(() => deps.client.trpc.factory.appendEvents.mutate({ ...this.fence(), events, requestId })).then(
          () => undefined,
        ),
    });
    this.lease = new LeaseKeeper({
      leaseTtlMs: claimed.leaseTtlMs,
      grantedAt: deps.claimedAt ?? Date.now(),
      selfFenceMarginMs: selfFenceMargin(claimed.leaseTtlMs, deps.killGraceMs),
      onExpiring: (deadline) => {
        deps.metrics?.leaseLost();
        if (Date.now() >= deadline) {
          // woken past the deadline (the process was paused): the lease has lapsed, as good as fenced
          this.logger.warn({ deadline: new Date(deadline).toISOString() }, "the lease lapsed before it was renewed");
          return this.stop("fenced");
        }
        this.logger.error(
          { deadline: new Date(deadline).toISOString(), leaseTtlMs: claimed.leaseTtlMs },
          "self-fenced: the lease could not be renewed before its deadline; stopping the job and reporting nothing",
        );
        this.stop("expired");
      },
      watchdogMs: attemptLimitMs(claimed.job, deps.watchdogSlackMs ?? WATCHDOG_SLACK_MS),
      renew: () => this.renew(),
      onOverrun: (limitMs) => {
        this.logger.error(
          { limitMs },
          "attempt overran its watchdog: stopped renewing, the lease will lapse and the reaper requeues the job",
        );
        this.stop("watchdog");
      },
    });
    const finished = this.run()
      .catch(async (error: unknown) => {
        if (isSilent(this.stopReason)) return;
        this.logger.error({ err: error }, "job runner failed");
        await this.reportFailure(error);
      })
      .finally(() => {
        this.lease.stop();
        deps.metrics?.runFinished(claimed.job.engine, this.outcome());
        if (this.stopReason === "fenced") this.logger.warn("fenced: stopped the job and discarded its result");
        if (this.stopReason === "expired") this.logger.warn("self-fenced: stopped the job; the reaper gives it back");
      });
    this.done = Promise.race([finished, this.lease.overrun]);
  }

  /**
   * An error of the factory's own (a workspace git cannot prepare, an upload refused) ends the
   * attempt as a failure naming it, rather than leaving the lease to lapse into a `lost` run.
   */
  private async reportFailure(error: unknown): Promise<void> {
    if (this.stopReason !== undefined) return;
    const message = error instanceof Error ? error.message : String(error);
    try {
      // cut well inside the limit, leaving room for the prefix
      await this.complete("failure", {}, { reason: `factory error: ${message.slice(0, REASON_MAX - 100)}` });
    } catch (reportError) {
      this.logger.warn({ err: reportError }, "could not report the failure; the lease will lapse");
    }
  }

  /** How the run ended as this factory saw it (the `runs_total` metric's result). */
  private outcome(): RunOutcome {
    if (this.completed) return this.completed;
    const byStop: Record<StopReason, RunOutcome> = {
      cancel: "cancelled",
      drain: "released",
      fenced: "fenced",
      expired: "expired",
      watchdog: "expired",
      kill: "killed",
    };
    return this.stopReason ? byStop[this.stopReason] : "error";
  }

  /** The coordinator asked to cancel this lease. */
  cancel(epoch: number): void {
    if (epoch === this.epoch) this.stop("cancel");
  }

  /** Drain: stop the engine, checkpoint, and give the job back with no attempt penalty. */
  async release(): Promise<void> {
    this.stop("drain");
    await this.done;
  }

  /** The job was claimed again at a newer epoch: this lease is gone; stop and report nothing. */
  superseded(): void {
    this.stop("fenced");
  }

  /** Second signal: SIGKILL the running process group now (the daemon exits next) and report nothing more. */
  kill(): void {
    this.group.killNow();
    this.stop("kill");
  }

  private stop(reason: StopReason): void {
    this.stopReason = nextStopReason(this.stopReason, reason);
    if (isSilent(this.stopReason)) {
      this.lease.stopRenewing();
      this.batcher.stop();
      this.workspace?.freeze();
    }
    this.abort.abort(this.stopReason);
  }

  private fence(): Fence {
    return { jobId: this.jobId, epoch: this.epoch, factoryId: this.deps.factoryId };
  }

  /** A write under the fence; FENCED stops the job, and a silenced runner writes nothing. */
  private async write<T>(fn: () => Promise<T>): Promise<T> {
    if (this.stopReason && isSilent(this.stopReason)) throw new StoppedSignal(this.jobId, this.stopReason);
    try {
      // retried until the lease's deadline; a silenced runner stops retrying
      return await fencedWrite(this.jobId, fn, {
        deadline: () => (isSilent(this.stopReason) ? 0 : this.lease.deadline),
      });
    } catch (error) {
      if (error instanceof FencedSignal) {
        this.deps.metrics?.writeFenced();
        this.stop("fenced");
      }
      throw error;
    }
  }

  private async renew(): Promise<void> {
    try {
      const answer = await this.write(() => this.deps.client.trpc.factory.renew.mutate(this.fence()));
      this.deps.metrics?.renewal(true);
      if (answer.cancelRequested) this.stop("cancel");
    } catch (error) {
      if (!(error instanceof StoppedSignal)) this.deps.metrics?.renewal(false);
      if (!(error instanceof FencedSignal || error instanceof StoppedSignal))
        this.logger.warn({ err: error }, "lease renewal failed");
      throw error;
    }
  }

  /**
   * The attempt's span, continuing the trace the claim answer carries (the job's creation for its
   * first run): workspace, engine, verify and completion spans are its children.
   */
  private run(): Promise<void> {
    const { job, runId } = this.claimed;
    const attributes = {
      "gf.job.id": job._id,
      "gf.run.id": runId,
      "gf.job.attempt": job.attempt,
      "gf.engine": job.engine,
    };
    return tracer.startActiveSpan("gf.attempt", { attributes }, contextFrom(this.claimed.trace), async (span) => {
      try {
        await this.attempt();
        span.setAttribute("gf.run.result", this.outcome());
        endSpan(span);
      } catch (error) {
        endSpan(span, error);
        throw error;
      }
    });
  }

  private async attempt(): Promise<void> {
    const { job } = this.claimed;
    this.lease.start();
    const started = Date.now();
    const workspace = await Workspace.prepare(job, {
      workDir: this.deps.workDir,
      epoch: this.epoch,
      lazyGit: this.deps.engines.get(job.engine)?.wantsGit === false,
    });
    this.workspace = workspace;
    if (isSilent(this.stopReason)) workspace.freeze();
    try {
      const engine = this.deps.engines.get(job.engine);
      const profile = this.profile();
      const result = engine ? await this.runEngine(engine, profile) : undefined;
      if (await this.endsAfterEngine()) return;
      // no reviewer adds to the engine's log: it goes up while the work is committed and measured
      if (result && result.outcome !== "cancelled" && this.stopReason === undefined && job.review.mode !== "engine")
        this.startLogUpload();

      const checkpoint = await this.commitWip(
        `gf: WIP checkpoint ${job._id} (attempt ${job.attempt}, epoch ${this.epoch})`,
      );
      const requestId = randomUUID(); // one per checkpoint, kept across its retries
      if (checkpoint && workspace.shareable)
        await this.write(() =>
          this.deps.client.trpc.factory.checkpoint.mutate({ ...this.fence(), checkpoint, requestId }),
        );
      const insights: Insights = {
        ...result?.insights,
        ...(await workspace.diffStats()),
        durationMs: Date.now() - started,
      };

      if (!result)
        return await this.complete("failure", insights, {
          reason: `engine ${job.engine} is not offered by this factory`,
        });
      if (this.stopReason === "cancel" || result.outcome === "cancelled")
        return await this.complete("cancelled", insights, { exit: result.exit, reason: "cancelled" });
      if (result.outcome !== "success") {
        await this.uploadArtifacts();
        return await this.complete(result.outcome, insights, {
          exit: result.exit,
          reason: result.reason ?? `engine exited with ${result.exit.code ?? result.exit.signal}`,
        });
      }
      if (job.review.mode === "engine" && !(await reviewPhase(this, { exit: result.exit, insights, profile }))) return;
      const verifyResult = job.verify.length
        ? await tracer.startActiveSpan("gf.verify", async (span) => {
            try {
              const verified = await verifyPhase(this, workspace.path);
              if (verified !== "ended") span.setAttribute("gf.verify.passed", verified.passed);
              return verified;
            } finally {
              span.end();
            }
          })
        : undefined;
      if (verifyResult === "ended") return;
      await this.uploadArtifacts();
      insights.durationMs = Date.now() - started;
      if (verifyResult && !verifyResult.passed) {
        const failed = verifyResult.steps.at(-1);
        return await this.complete("failure", insights, {
          exit: result.exit,
          verifyResult,
          reason: `verify gate failed: ${failed?.command} exited ${failed?.exitCode}`,
        });
      }
      await this.complete("success", insights, { exit: result.exit, ...(verifyResult ? { verifyResult } : {}) });
    } finally {
      // an exception mid-engine must not leave the engine running, nor remove the worktree under it
      this.abort.abort("attempt ended");
      await this.group.gone();
      this.batcher.stop();
      this.lease.stopRenewing();
      if (this.stopReason === "expired") await this.keepExpiredWork(workspace);
      // a job that failed or was cancelled for good takes its branch along; a shipped job keeps it
      // (its result), and one given back keeps it to resume from
      const dropBranch = this.finalStage === "failed" || this.finalStage === "cancelled";
      await workspace
        .cleanup({ dropBranch })
        .catch((error: unknown) => this.logger.warn({ err: error }, "workspace cleanup failed"));
    }
  }

  /**
   * Self-fenced: the work is kept as a commit in the repository (the workspace is frozen, so the
   * job branch, which may soon be another holder's, does not move) and named in the log.
   */
  private async keepExpiredWork(workspace: Workspace): Promise<void> {
    if (!workspace.shareable) return;
    try {
      const kept = await workspace.commitWip(
        `gf: WIP of ${this.jobId} (self-fenced, epoch ${this.epoch})`,
        async () => {
          throw new StoppedSignal(this.jobId, "expired");
        },
      );
      this.logger.warn({ commit: kept?.wipCommit }, "self-fenced: kept the attempt's work as a commit");
    } catch (error) {
      this.logger.warn({ err: error }, "self-fenced: could not keep the attempt's work");
    }
  }

  /** Runs an engine (the job's, or the reviewer) in the workspace, streaming its events. */
  async runEngine(
    engine: Engine,
    profile: ProfileSnapshot | undefined,
    job: EngineContext["job"] = this.claimed.job,
  ): Promise<EngineResult> {
    // GenAI semantic conventions: an agent invocation, named `invoke_agent {agent}`
    return tracer.startActiveSpan(`invoke_agent ${engine.id}`, async (span) => {
      try {
        const result = await this.engineRun(engine, profile, job);
        span.setAttributes(engineSpanAttributes(engine.id, result));
        endSpan(span);
        return result;
      } catch (error) {
        endSpan(span, error);
        throw error;
      }
    });
  }

  private async engineRun(
    engine: Engine,
    profile: ProfileSnapshot | undefined,
    job: EngineContext["job"],
  ): Promise<EngineResult> {
    const workspace = this.mustHaveWorkspace();
    const run = engine.run({
      job,
      ...(profile ? { profile } : {}),
      workdir: workspace.path,
      env: this.deps.env,
      signal: this.abort.signal,
      killGraceMs: this.deps.killGraceMs,
      ...(this.deps.sandbox
        ? {
            sandbox: this.deps.sandbox.forJob({
              workspace: workspace.path,
              network: this.claimed.job.network !== false,
            }),
          }
        : {}),
    });
    this.logger.info({ engine: engine.id, pid: run.pid }, "engine started");
    this.group.started(run.pid, run.result);
    for await (const event of run) {
      this.engineLog.keep(event);
      this.batcher.push(event);
    }
    const result = await run.result;
    this.group.ended();
    this.logger.info({ outcome: result.outcome, exit: result.exit }, "engine finished");
    return result;
  }

  /**
   * After the engine: its last events go out while the attempt goes on (the WIP commit, diff
   * stats and uploads do not need them sent; the completion waits for them, and a fence in them
   * silences every later write). Only a stop already asked for (cancel, drain, a fence) waits for
   * them here, as {@link endsHere}.
   */
  private async endsAfterEngine(): Promise<boolean> {
    if (this.stopReason !== undefined) return this.endsHere();
    // a failure is the completion's to see (complete() flushes again); never an unhandled rejection
    this.batcher.flush().catch(() => undefined);
    return false;
  }

  /**
   * After a phase: sends its events, then says whether the attempt ends here: silenced (fenced,
   * killed, given up), or drained, in which case the job is checkpointed and released first.
   */
  async endsHere(): Promise<boolean> {
    await this.batcher.flush();
    if (isSilent(this.stopReason)) return true;
    if (this.stopReason !== "drain") return false;
    await this.drainRelease();
    return true;
  }

  push(event: NewEvent): void {
    this.batcher.push(event);
  }

  /** A WIP commit on the job branch; when a stale holder moved the branch, a renewal proves the lease before it is taken back. */
  commitWip(message: string): Promise<Checkpoint | undefined> {
    return this.mustHaveWorkspace().commitWip(message, async () => {
      const sentAt = Date.now();
      await this.write(() => this.deps.client.trpc.factory.renew.mutate(this.fence()));
      this.lease.renewed(sentAt);
    });
  }

  private profile(): ProfileSnapshot | undefined {
    const parsed = ProfileSnapshotSchema.safeParse(this.claimed.profileSnapshot);
    return parsed.success ? parsed.data : undefined;
  }

  async advance(to: ActiveStage): Promise<void> {
    await this.batcher.flush();
    await this.write(() => this.deps.client.trpc.factory.advance.mutate({ ...this.fence(), to }));
  }

  async complete(
    result: CompletionResult,
    insights: Insights,
    extra: { exit?: EngineResult["exit"]; verifyResult?: VerifyResult; reason?: string },
  ): Promise<void> {
    // the log upload started early ends first (the lease ends with the completion); then events pushed
    // since the last phase (e.g. an artifact that was not stored); a batch that failed must not keep
    // the completion (or the report of that failure) from being sent
    await this.logUpload?.catch(() => undefined);
    await this.batcher.flush().catch(() => undefined);
    const answer = await tracer.startActiveSpan("gf.complete", { attributes: { "gf.run.result": result } }, (span) =>
      this.write(() =>
        this.deps.client.trpc.factory.complete.mutate({ ...this.fence(), result, insights, ...extra }),
      ).then(
        (value) => {
          endSpan(span);
          return value;
        },
        (error: unknown) => {
          endSpan(span, error);
          throw error;
        },
      ),
    );
    this.finalStage = answer.stage;
    this.completed = result;
    this.logger.info({ result, stage: answer.stage }, "job attempt completed");
  }

  private async drainRelease(): Promise<void> {
    // an upload still under way ends before the lease is given back
    await this.logUpload?.catch(() => undefined);
    let checkpoint: Checkpoint | undefined;
    if (this.mustHaveWorkspace().shareable)
      checkpoint = await this.commitWip(`gf: WIP checkpoint ${this.jobId} (drained, epoch ${this.epoch})`);
    await this.write(() =>
      this.deps.client.trpc.factory.release.mutate({
        ...this.fence(),
        reason: "factory draining",
        ...(checkpoint ? { checkpoint } : {}),
      }),
    );
    this.logger.info({ checkpoint: checkpoint?.wipCommit }, "released the job for another factory");
  }

  /** Starts uploading `engine.log` (once); its outcome is awaited by {@link uploadArtifacts}. */
  private startLogUpload(): void {
    if (this.logUpload) return;
    this.logUpload = this.upload(engineLogArtifact(this.engineLog));
    // awaited later; a fence meanwhile must not be an unhandled rejection
    this.logUpload.catch(() => undefined);
  }

  /**
   * Best effort: a log or diff the coordinator does not store is noted in the job's events, not a
   * failed attempt. The log (when not already on its way) and the diff go up concurrently.
   */
  async uploadArtifacts(): Promise<void> {
    const workspace = this.mustHaveWorkspace();
    this.startLogUpload();
    const results = await Promise.allSettled([this.logUpload, this.upload(diffArtifact(() => workspace.diff()))]);
    for (const result of results) if (result.status === "rejected") throw result.reason;
  }

  private upload(artifact: AttemptArtifact): Promise<void> {
    return uploadAttemptArtifact(
      {
        client: this.deps.client,
        meta: { ...this.fence(), runId: this.claimed.runId },
        write: (fn) => this.write(fn),
        logger: this.logger,
        push: (event) => this.batcher.push(event),
      },
      artifact,
    );
  }

  private mustHaveWorkspace(): Workspace {
    if (!this.workspace) throw new Error(`job ${this.jobId}: no workspace yet`);
    return this.workspace;
  }
}
