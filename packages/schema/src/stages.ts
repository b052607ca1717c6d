import { z } from "zod";

/** Stages keep the predecessor's (agent-queue) names. */
export const Stage = z.enum(["inbox", "building", "review", "testing", "shipped", "failed", "cancelled"]);
export type Stage = z.infer<typeof Stage>;

/** Stages in which a job is leased to one factory. */
export const ACTIVE_STAGES = ["building", "review", "testing"] as const satisfies readonly Stage[];
export const ActiveStage = z.enum(ACTIVE_STAGES);
export type ActiveStage = z.infer<typeof ActiveStage>;

export const TERMINAL_STAGES = ["shipped", "failed", "cancelled"] as const satisfies readonly Stage[];
export type TerminalStage = (typeof TERMINAL_STAGES)[number];

export function isActiveStage(stage: Stage): stage is ActiveStage {
  return (ACTIVE_STAGES as readonly Stage[]).includes(stage);
}

export function isTerminalStage(stage: Stage): stage is TerminalStage {
  return (TERMINAL_STAGES as readonly Stage[]).includes(stage);
}

/**
 * How one attempt (run) ended. `lost`: its lease expired; `fenced`: its writes were
 * rejected because a newer epoch holds the job; `released`: drained, no attempt penalty.
 */
export const RunResult = z.enum(["success", "failure", "timeout", "cancelled", "lost", "fenced", "released"]);
export type RunResult = z.infer<typeof RunResult>;

/** The results a factory may report through `complete` (lost/fenced/released are decided elsewhere). */
export const CompletionResult = z.enum(["success", "failure", "timeout", "cancelled"]);
export type CompletionResult = z.infer<typeof CompletionResult>;

/** Event types a factory may append; lifecycle events are the coordinator's alone. */
export const FACTORY_EVENT_TYPES = [
  "log",
  "message",
  "tool_use",
  "checkpoint",
  "verify",
  "artifact",
  "insights",
  // log lines a factory dropped from its full buffer during an outage: `data.count`
  "dropped",
] as const;

export const EventType = z.enum([
  // lifecycle, written by the coordinator
  "created",
  "claimed",
  "stage",
  "requeued",
  "lost",
  "released",
  "cancel_requested",
  "cancelled",
  "retried",
  "approval_requested",
  "approved",
  "rejected",
  "completed",
  "failed",
  "dep_failed",
  // a lifecycle event whose seq was reserved but never written (its coordinator died): filled by the reaper
  "recovered",
  // run output, written by the factory under its lease
  ...FACTORY_EVENT_TYPES,
]);
export type EventType = z.infer<typeof EventType>;

export const FactoryEventType = z.enum(FACTORY_EVENT_TYPES);
export type FactoryEventType = z.infer<typeof FactoryEventType>;
