import { z } from "zod";
import {
  Capability,
  EngineId,
  Epoch,
  FactoryId,
  JobId,
  Json,
  Name,
  ProductId,
  Reason,
  RequestId,
  RunId,
} from "./primitives.js";
import { AppliedRails } from "./rails.js";
import { RunResult, Stage } from "./stages.js";
import { EchoState } from "./tracker.js";

export const ProfileRef = z.object({
  name: Name,
  /** Absent in a create input: the newest version is pinned when the job is created. */
  version: z.number().int().positive(),
});
export type ProfileRef = z.infer<typeof ProfileRef>;

/**
 * A git commit id: 7 to 64 lower-case hex digits (abbreviated SHA-1 up to full SHA-256). Never a
 * ref name or anything else git could read as an option (`--output=<path>`).
 */
export const CommitId = z.string().regex(/^[0-9a-f]{7,64}$/, "must be a git commit hash");
export type CommitId = z.infer<typeof CommitId>;

/** Where an interrupted job resumes: a WIP commit on its own branch, and the commit it started from. */
export const Checkpoint = z.object({
  wipBranch: z.string().min(1).max(256),
  wipBase: CommitId,
  wipCommit: CommitId,
});
export type Checkpoint = z.infer<typeof Checkpoint>;

/**
 * The lease lives inside the job so that claiming and leasing are one atomic update.
 * `epoch` only ever grows; `holder` is null when nobody holds the job.
 */
export const Lease = z.object({
  holder: FactoryId.nullable(),
  epoch: Epoch,
  expiresAt: z.date().nullable(),
  renewals: z.number().int().nonnegative(),
  runId: RunId.nullable(),
  /** The claim request that took this lease (`factory.claim`'s `requestId`): a retried claim gets it again. */
  claimRequestId: RequestId.nullable().optional(),
  /**
   * The last fenced writes applied under this lease, by request id, and the event seqs each
   * reserved (`count` from `firstSeq`; `ref` names what it stored, e.g. an artifact): a retry
   * of one of them is answered from here instead of being applied twice.
   */
  applied: z
    .array(
      z.object({
        id: RequestId,
        firstSeq: z.number().int().positive(),
        count: z.number().int().nonnegative(),
        ref: z.string().max(128).optional(),
      }),
    )
    .optional(),
});
export type Lease = z.infer<typeof Lease>;

export const DepsMode = z.enum(["all", "any"]);
export type DepsMode = z.infer<typeof DepsMode>;

export const JobKind = z.enum(["leaf", "composite"]);
export type JobKind = z.infer<typeof JobKind>;

/** `engine`: a reviewer pass by another engine/profile; `human`: park until approved or rejected. */
export const ReviewMode = z.enum(["none", "engine", "human"]);
export type ReviewMode = z.infer<typeof ReviewMode>;

export const Review = z.object({
  mode: ReviewMode,
  engine: EngineId.optional(),
  profile: Name.optional(),
});
export type Review = z.infer<typeof Review>;

/** A verify gate: a shell command that must exit 0. */
export const VerifyCommand = z.string().min(1).max(4_000);

export const JOB_LIMITS = {
  bodyMdMaxBytes: 256 * 1024,
  titleMax: 200,
  maxDeps: 100,
  maxCapabilities: 50,
  maxVerify: 20,
  maxAttempts: 20,
  maxTimeoutMs: 7 * 24 * 3_600_000,
} as const;

export const DEFAULT_TIMEOUT_MS = 3_600_000;
export const DEFAULT_MAX_ATTEMPTS = 3;

export const Job = z.object({
  _id: JobId,
  productId: ProductId,
  idempotencyKey: z.string().min(1).max(256),
  title: z.string().max(JOB_LIMITS.titleMax),
  stage: Stage,
  priority: z.number().int(),
  capabilities: z.array(Capability),
  engine: EngineId,
  engineClass: z.string().max(64).optional(),
  /** For the shell engine: the command to run (otherwise the body runs as a script). */
  command: z.string().max(4_000).optional(),
  profile: ProfileRef.optional(),
  /** The instructions, verbatim. */
  bodyMd: z.string(),
  /** The job file's frontmatter as given, unknown keys included. */
  manifest: Json,
  deps: z.array(JobId),
  depsMode: DepsMode,
  pendingDeps: z.array(JobId),
  parentId: JobId.optional(),
  kind: JobKind,
  /**
   * A composite parent only: `jobs.seal` closed its set of children. Until then children may be
   * added and it never settles; once sealed it settles when every child is finished.
   */
  sealed: z.boolean().optional(),
  /** A composite parent only: how many children were admitted (each one counted before it is stored). */
  childCount: z.number().int().nonnegative().optional(),
  /** A composite parent only: when the last child was admitted. */
  lastChildAt: z.date().optional(),
  lock: Name.optional(),
  timeoutMs: z.number().int().positive(),
  maxAttempts: z.number().int().positive(),
  attempt: z.number().int().nonnegative(),
  /**
   * Runs started so far: every claim adds one and nothing takes it back, so each run's `attempt`
   * (this count at its claim) is unique per job, while `attempt` counts against `maxAttempts`
   * (a release, an undone claim or a retry gives attempts back).
   */
  runCount: z.number().int().nonnegative().optional(),
  notBefore: z.date(),
  checkpoint: Checkpoint.optional(),
  verify: z.array(VerifyCommand),
  review: Review,
  /** Parked in `review` with no lease until a human approves or rejects. */
  awaitingApproval: z.boolean(),
  repo: z.string().max(1_000).optional(),
  baseRef: z.string().max(256).optional(),
  cwd: z.string().max(1_000).optional(),
  /** `false`: the engine and gates run with no network at all (default: the host's network). */
  network: z.boolean().optional(),
  trackerItemId: z.string().max(256).optional(),
  /** The schedule that fired this job (`<productId>/<schedule id>`), when one did. */
  scheduleId: z.string().max(200).optional(),
  /** The last state echoed to the tracker item (set by the tracker outbox). */
  trackerEchoed: EchoState.optional(),
  /** The product's guard and quality rails that applied when the job was created. */
  rails: AppliedRails.optional(),
  lease: Lease,
  eventSeq: z.number().int().nonnegative(),
  cancelRequested: z.boolean(),
  /** The result of the last finished attempt. */
  lastResult: RunResult.optional(),
  /** Why the job failed or was cancelled, in words (names a failed dependency when that is the cause). */
  reason: Reason.optional(),
  /** W3C `traceparent` of the span that created the job (tracing on only): the first attempt's trace. */
  traceparent: z.string().max(64).optional(),
  createdAt: z.date(),
  updatedAt: z.date(),
  /** When the job last entered `inbox`; the claim order's tie-breaker. */
  queuedAt: z.date(),
  endedAt: z.date().optional(),
  /**
   * Follow-ups of a stage change still owed (lock release, dependents, composite parent, a
   * dependency re-check): set by the update that made the change, cleared once they ran. Any
   * coordinator's reaper runs those a failed or crashed request left.
   */
  settle: z.object({ owedSince: z.date() }).optional(),
});
export type Job = z.infer<typeof Job>;
