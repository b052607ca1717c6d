import type {
  ActiveStage,
  CompletionResult,
  ExitInfo,
  Insights,
  Job,
  NewEvent,
  ProfileSnapshot,
  VerifyResult,
} from "@gigafactory/schema";
import type { Engine, EngineContext, EngineResult } from "../engines/engine.js";
import type { Sandbox } from "../sandbox/sandbox.js";
import { reviewJob } from "./review.js";
import type { RunningGroup } from "./running-group.js";
import { runVerify } from "./verify.js";

/** What the review and verify phases need of the runner whose attempt they belong to. */
export interface PhaseHost {
  readonly job: Job;
  readonly epoch: number;
  readonly signal: AbortSignal;
  readonly deps: {
    engines: ReadonlyMap<string, Engine>;
    env: Record<string, string>;
    killGraceMs: number;
    sandbox?: Sandbox;
  };
  advance(to: ActiveStage): Promise<void>;
  runEngine(engine: Engine, profile: ProfileSnapshot | undefined, job?: EngineContext["job"]): Promise<EngineResult>;
  /** Sends the phase's events; true when the attempt ends here (silenced, or drained and released). */
  endsHere(): Promise<boolean>;
  push(event: NewEvent): void;
  readonly group: RunningGroup;
  commitWip(message: string): Promise<unknown>;
  uploadArtifacts(): Promise<void>;
  complete(
    result: CompletionResult,
    insights: Insights,
    extra: { exit?: ExitInfo; verifyResult?: VerifyResult; reason?: string },
  ): Promise<void>;
}

/** `review` with a reviewer engine in the same workspace. True when the attempt goes on to the gates. */
export async function reviewPhase(
  host: PhaseHost,
  opts: { exit: ExitInfo; insights: Insights; profile: ProfileSnapshot | undefined },
): Promise<boolean> {
  const { job } = host;
  const reviewer = host.deps.engines.get(job.review.engine ?? job.engine);
  await host.advance("review");
  const review = reviewer ? await host.runEngine(reviewer, opts.profile, reviewJob(job)) : undefined;
  if (await host.endsHere()) return false;
  if (review?.outcome !== "success") {
    await host.uploadArtifacts();
    const reason = review
      ? `review failed: ${review.reason ?? review.outcome}`
      : `review engine ${job.review.engine} is not offered by this factory`;
    await host.complete("failure", opts.insights, { exit: opts.exit, reason });
    return false;
  }
  await host.commitWip(`gf: review of ${job._id} (epoch ${host.epoch})`);
  return true;
}

/** `testing`: the verify gates in order. `ended` when the attempt ends here (silenced, or drained and released). */
export async function verifyPhase(host: PhaseHost, cwd: string): Promise<VerifyResult | "ended"> {
  const { job } = host;
  await host.advance("testing");
  const verifyResult = await runVerify({
    commands: job.verify,
    cwd,
    env: host.deps.env,
    timeoutMs: job.timeoutMs,
    signal: host.signal,
    killGraceMs: host.deps.killGraceMs,
    onLine: (gate, line) => host.push({ type: "verify", data: { gate, stream: line.stream, line: line.line } }),
    onGroup: (pgid) => (pgid === undefined ? host.group.ended() : host.group.started(pgid)),
    ...(host.deps.sandbox
      ? { sandbox: host.deps.sandbox.forJob({ workspace: cwd, network: job.network !== false }) }
      : {}),
  });
  if (await host.endsHere()) return "ended";
  host.push({
    type: "verify",
    data: { passed: verifyResult.passed, steps: verifyResult.steps.map(({ tail, ...step }) => step) },
  });
  return verifyResult;
}
