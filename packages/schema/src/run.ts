import { z } from "zod";
import { EngineId, Epoch, FactoryId, JobId, Json, Reason, RunId } from "./primitives.js";
import { RunResult } from "./stages.js";

/** Files changed and lines added and deleted by an attempt (`git diff --numstat`). */
export const DiffStats = z.object({
  filesChanged: z.number().int().nonnegative(),
  linesAdded: z.number().int().nonnegative(),
  linesDeleted: z.number().int().nonnegative(),
});
export type DiffStats = z.infer<typeof DiffStats>;

/** What one attempt cost and changed, parsed from the engine's structured output and git. */
export const Insights = z.object({
  model: z.string().max(200).optional(),
  tokensIn: z.number().int().nonnegative().optional(),
  tokensOut: z.number().int().nonnegative().optional(),
  tokensCached: z.number().int().nonnegative().optional(),
  costUsd: z.number().nonnegative().optional(),
  /** True when cost or tokens were estimated rather than reported by the engine. */
  estimated: z.boolean().optional(),
  turns: z.number().int().nonnegative().optional(),
  toolCalls: z.number().int().nonnegative().optional(),
  ...DiffStats.partial().shape,
  durationMs: z.number().int().nonnegative().optional(),
});
export type Insights = z.infer<typeof Insights>;

export const ExitInfo = z.object({
  code: z.number().int().nullable(),
  signal: z.string().nullable(),
});
export type ExitInfo = z.infer<typeof ExitInfo>;

/** The longest `tail` of a verify gate's output kept on its step, in characters. */
export const VERIFY_TAIL_MAX = 8_000;

export const VerifyStep = z.object({
  command: z.string(),
  exitCode: z.number().int().nullable(),
  durationMs: z.number().int().nonnegative(),
  /** The last lines of output, for a quick look; the full output is in the events. */
  tail: z.string().max(VERIFY_TAIL_MAX).optional(),
});

export const VerifyResult = z.object({
  passed: z.boolean(),
  steps: z.array(VerifyStep),
});
export type VerifyResult = z.infer<typeof VerifyResult>;

export const Run = z.object({
  _id: RunId,
  productId: z.string(),
  jobId: JobId,
  /** The run's number among its job's runs, from 1; never reused (the job's `runCount` at its claim). */
  attempt: z.number().int().positive(),
  epoch: Epoch,
  factoryId: FactoryId,
  engine: EngineId,
  profileSnapshot: Json.optional(),
  startedAt: z.date(),
  endedAt: z.date().optional(),
  exit: ExitInfo.optional(),
  verifyResult: VerifyResult.optional(),
  /** Absent while the run is going on. */
  result: RunResult.optional(),
  reason: Reason.optional(),
  insights: Insights,
});
export type Run = z.infer<typeof Run>;
