import type { ActiveStage, Checkpoint, ClaimedJob, CompletionResult, Insights, NewEvent, ProfileSnapshot, VerifyResult } from "@gigafactory/schema";
import { ProfileSnapshot as ProfileSnapshotSchema } from "@gigafactory/schema";
import type { GigafactoryClient } from "@gigafactory/sdk";
import type { Engine, EngineContext, EngineResult } from "../engines/engine.js";
import type { Logger } from "../logger.js";
import { Workspace } from "../workspace/workspace.js";
import { EventBatcher } from "./event-batcher.js";
import { FencedSignal, fencedWrite, uploadArtifact } from "./fenced-client.js";
import { reviewJob } from "./review.js";
import { runVerify } from "./verify.js";

/** The full engine log kept for the `engine.log` artifact; events carry every line anyway. */
const MAX_LOG_BYTES = 16 * 1024 * 1024;

export interface JobRunnerDeps {
  client: GigafactoryClient;
  factoryId: string;
  workDir: string;
  engines: ReadonlyMap<string, Engine>;
  env: Record<string, string>;
  killGraceMs: number;
  logger: Logger;
}

type StopReason = "cancel" | "drain" | "fenced" | "kill";

/**
 * Runs one claimed job to the end of its attempt: workspace, engine, events, lease renewal,
 * checkpoint, verify gates, artifacts, completion. Every write carries the fence; the first
 * `FENCED` answer stops the engine and the runner reports nothing more.
 */
export class JobRunner {
  readonly jobId: string;
  readonly epoch: number;
  readonly done: Promise<void>;
  private readonly abort = new AbortController();
  private stopReason: StopReason | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private readonly log: string[] = [];
  private logBytes = 0;
  private readonly logger: Logger;

  constructor(
    private readonly claimed: ClaimedJob,
    private readonly deps: JobRunnerDeps,
  ) {
    this.jobId = claimed.job._id;
    this.epoch = claimed.epoch;
    this.logger = deps.logger.child({ jobId: this.jobId, epoch: this.epoch });
    this.done = this.run()
      .catch(async (error: unknown) => {
        if (error instanceof FencedSignal) return this.logger.warn("fenced: stopped the job and discarded its result");
        this.logger.error({ err: error }, "job runner failed");
        await this.reportFailure(error);
      })
      .finally(() => clearInterval(this.renewTimer));
  }

  /**
   * An error of the factory's own (a workspace git cannot prepare, an upload refused) ends the
   * attempt as a failure naming it, rather than leaving the lease to lapse into a `lost` run.
   */
  private async reportFailure(error: unknown): Promise<void> {
    if (this.stopReason !== undefined) return;
    const message = error instanceof Error ? error.message : String(error);
    try {
      await this.complete("failure", {}, { reason: `factory error: ${message.slice(0, 1_900)}` });
    } catch (reportError) {
      this.logger.warn({ err: reportError }, "could not report the failure; the lease will lapse");
    }
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

  /** Second signal: stop the engine now and report nothing more. */
  kill(): void {
    this.stop("kill");
  }

  private stop(reason: StopReason): void {
    this.stopReason ??= reason;
    this.abort.abort(reason);
  }

  private fence() {
    return { jobId: this.jobId, epoch: this.epoch, factoryId: this.deps.factoryId };
  }

  /** A write under the fence; FENCED stops the job. */
  private async write<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fencedWrite(this.jobId, fn);
    } catch (error) {
      if (error instanceof FencedSignal) this.stop("fenced");
      throw error;
    }
  }

  private startRenewing(): void {
    const every = Math.max(100, Math.floor(this.claimed.leaseTtlMs / 3));
    this.renewTimer = setInterval(() => {
      this.write(() => this.deps.client.trpc.factory.renew.mutate(this.fence()))
        .then((answer) => {
          if (answer.cancelRequested) this.stop("cancel");
        })
        .catch((error: unknown) => {
          if (!(error instanceof FencedSignal)) this.logger.warn({ err: error }, "lease renewal failed");
        });
    }, every);
  }

  private async run(): Promise<void> {
    const { job } = this.claimed;
    this.startRenewing();
    const started = Date.now();
    const batcher = new EventBatcher({
      send: async (events) => {
        await this.write(() => this.deps.client.trpc.factory.appendEvents.mutate({ ...this.fence(), events }));
      },
    });
    const workspace = await Workspace.prepare(job, { workDir: this.deps.workDir, epoch: this.epoch });
    try {
      const engine = this.deps.engines.get(job.engine);
      const profile = this.profile();
      const result = engine ? await this.runEngine(engine, workspace, profile, batcher) : undefined;
      await batcher.flush();
      if (this.stopReason === "fenced" || this.stopReason === "kill") return;
      if (this.stopReason === "drain") return await this.drainRelease(workspace);

      const checkpoint = await workspace.commitWip(`gf: WIP checkpoint ${job._id} (attempt ${job.attempt}, epoch ${this.epoch})`, () => this.confirmLease());
      if (checkpoint && workspace.shareable) await this.write(() => this.deps.client.trpc.factory.checkpoint.mutate({ ...this.fence(), checkpoint }));
      const insights: Insights = { ...result?.insights, ...(await workspace.diffStats()), durationMs: Date.now() - started };

      if (!result) return await this.complete("failure", insights, { reason: `engine ${job.engine} is not offered by this factory` });
      if (this.stopReason === "cancel" || result.outcome === "cancelled") return await this.complete("cancelled", insights, { exit: result.exit, reason: "cancelled" });
      if (result.outcome !== "success") {
        await this.uploadArtifacts(workspace);
        return await this.complete(result.outcome, insights, { exit: result.exit, reason: result.reason ?? `engine exited with ${result.exit.code ?? result.exit.signal}` });
      }

      if (job.review.mode === "engine") {
        const reviewer = this.deps.engines.get(job.review.engine ?? job.engine);
        await this.advance("review", batcher);
        const review = reviewer ? await this.runEngine(reviewer, workspace, profile, batcher, reviewJob(job)) : undefined;
        await batcher.flush();
        if (this.stopReason === "fenced" || this.stopReason === "kill") return;
        if (this.stopReason === "drain") return await this.drainRelease(workspace);
        if (review?.outcome !== "success") {
          await this.uploadArtifacts(workspace);
          return await this.complete("failure", insights, { exit: result.exit, reason: review ? `review failed: ${review.reason ?? review.outcome}` : `review engine ${job.review.engine} is not offered by this factory` });
        }
        await workspace.commitWip(`gf: review of ${job._id} (epoch ${this.epoch})`, () => this.confirmLease());
      }

      let verifyResult: VerifyResult | undefined;
      if (job.verify.length) {
        await this.advance("testing", batcher);
        verifyResult = await runVerify({
          commands: job.verify,
          cwd: workspace.path,
          env: this.deps.env,
          timeoutMs: job.timeoutMs,
          signal: this.abort.signal,
          killGraceMs: this.deps.killGraceMs,
          onLine: (gate, line) => batcher.push({ type: "verify", data: { gate, stream: line.stream, line: line.line } }),
        });
        await batcher.flush();
        if (this.stopReason === "fenced" || this.stopReason === "kill") return;
        if (this.stopReason === "drain") return await this.drainRelease(workspace);
        batcher.push({ type: "verify", data: { passed: verifyResult.passed, steps: verifyResult.steps.map(({ tail, ...step }) => step) } });
        await batcher.flush();
      }
      await this.uploadArtifacts(workspace);
      insights.durationMs = Date.now() - started;
      if (verifyResult && !verifyResult.passed) {
        const failed = verifyResult.steps.at(-1);
        return await this.complete("failure", insights, { exit: result.exit, verifyResult, reason: `verify gate failed: ${failed?.command} exited ${failed?.exitCode}` });
      }
      await this.complete("success", insights, { exit: result.exit, ...(verifyResult ? { verifyResult } : {}) });
    } finally {
      batcher.stop();
      clearInterval(this.renewTimer);
      await workspace.cleanup().catch((error: unknown) => this.logger.warn({ err: error }, "workspace cleanup failed"));
    }
  }

  private async runEngine(engine: Engine, workspace: Workspace, profile: ProfileSnapshot | undefined, batcher: EventBatcher, job: EngineContext["job"] = this.claimed.job): Promise<EngineResult> {
    const run = engine.run({
      job,
      ...(profile ? { profile } : {}),
      workdir: workspace.path,
      env: this.deps.env,
      signal: this.abort.signal,
      killGraceMs: this.deps.killGraceMs,
    });
    this.logger.info({ engine: engine.id, pid: run.pid }, "engine started");
    if (run.pid !== undefined) await workspace.recordGroup(run.pid);
    for await (const event of run) {
      this.keepLog(event);
      batcher.push(event);
    }
    const result = await run.result;
    this.logger.info({ outcome: result.outcome, exit: result.exit }, "engine finished");
    return result;
  }

  private profile(): ProfileSnapshot | undefined {
    const parsed = ProfileSnapshotSchema.safeParse(this.claimed.profileSnapshot);
    return parsed.success ? parsed.data : undefined;
  }

  private async advance(to: ActiveStage, batcher: EventBatcher): Promise<void> {
    await batcher.flush();
    await this.write(() => this.deps.client.trpc.factory.advance.mutate({ ...this.fence(), to }));
  }

  private async complete(result: CompletionResult, insights: Insights, extra: { exit?: EngineResult["exit"]; verifyResult?: VerifyResult; reason?: string }): Promise<void> {
    const answer = await this.write(() => this.deps.client.trpc.factory.complete.mutate({ ...this.fence(), result, insights, ...extra }));
    this.logger.info({ result, stage: answer.stage }, "job attempt completed");
  }

  /** Proves this lease is current (FENCED throws) before a WIP commit takes the job branch back from a stale holder. */
  private async confirmLease(): Promise<void> {
    await this.write(() => this.deps.client.trpc.factory.renew.mutate(this.fence()));
  }

  private async drainRelease(workspace: Workspace): Promise<void> {
    let checkpoint: Checkpoint | undefined;
    if (workspace.shareable) checkpoint = await workspace.commitWip(`gf: WIP checkpoint ${this.jobId} (drained, epoch ${this.epoch})`, () => this.confirmLease());
    await this.write(() => this.deps.client.trpc.factory.release.mutate({ ...this.fence(), reason: "factory draining", ...(checkpoint ? { checkpoint } : {}) }));
    this.logger.info({ checkpoint: checkpoint?.wipCommit }, "released the job for another factory");
  }

  private keepLog(event: NewEvent): void {
    if (this.logBytes > MAX_LOG_BYTES) return;
    const text = typeof event.data.line === "string" ? event.data.line : typeof event.data.text === "string" ? event.data.text : JSON.stringify(event.data);
    const line = `[${event.type}] ${text}`;
    this.logBytes += line.length + 1;
    this.log.push(line);
  }

  private async uploadArtifacts(workspace: Workspace): Promise<void> {
    const meta = { ...this.fence(), runId: this.claimed.runId };
    await this.write(() => uploadArtifact(this.deps.client, { ...meta, name: "engine.log", contentType: "text/plain; charset=utf-8" }, Buffer.from(`${this.log.join("\n")}\n`)));
    const diff = await workspace.diff();
    if (diff) await this.write(() => uploadArtifact(this.deps.client, { ...meta, name: "changes.diff", contentType: "text/x-diff" }, Buffer.from(diff)));
  }
}
