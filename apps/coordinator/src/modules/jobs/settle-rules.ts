import { type Job, REASON_MAX, isTerminalStage } from "@gigafactory/schema";

/**
 * What a job's dependencies and children decide, as pure functions; `OutcomesService` applies
 * them after every stage change.
 */

/** Pending dependencies of a job: the refs that have not shipped (any-mode: none once one has). */
export function pendingDeps(depsMode: Job["depsMode"], deps: Pick<Job, "_id" | "stage">[]): string[] {
  const unshipped = deps.filter((dep) => dep.stage !== "shipped").map((dep) => dep._id);
  if (depsMode === "any") return unshipped.length < deps.length ? [] : unshipped;
  return unshipped;
}

/** The dependency whose failure dooms a job with these deps, if any (any-mode: only when all died). */
export function doomedBy<T extends Pick<Job, "stage">>(depsMode: Job["depsMode"], deps: T[]): T | undefined {
  const dead = deps.filter((dep) => dep.stage === "failed" || dep.stage === "cancelled");
  if (depsMode === "any") return deps.length > 0 && dead.length === deps.length ? dead[0] : undefined;
  return dead[0];
}

/** Where a job doomed by `culprit` goes, and why, in words that name the dependency. */
export function doom(culprit: Pick<Job, "_id" | "title" | "idempotencyKey" | "stage" | "reason">): {
  stage: "failed" | "cancelled";
  reason: string;
} {
  const cancelled = culprit.stage === "cancelled";
  const reason = `dependency ${culprit._id} (${culprit.title || culprit.idempotencyKey}) ${cancelled ? "was cancelled" : "failed"}${culprit.reason ? `: ${culprit.reason}` : ""}`;
  // the schema's reason limit
  return { stage: cancelled ? "cancelled" : "failed", reason: reason.slice(0, REASON_MAX) };
}

/*
 * Composite parents. A composite job is never claimed; it stands for its children.
 *
 * - It is open when created: children may be added (`jobs.create` with `parentId`) while it is
 *   open and in `inbox`. Each child is admitted on the parent first (one atomic write that counts
 *   it, `childCount`), then stored. A child under a sealed or finished parent is refused.
 * - `jobs.seal` closes the set. A parent settles only once sealed and every child is finished:
 *   shipped when they all shipped (a sealed parent with no children ships at once), failed naming
 *   those that did not. An open parent never settles, so it cannot ship before its children exist.
 * - A child admitted but not stored yet (its create is in flight) holds the parent back for
 *   `graceMs` after its admission; after that its creator is taken for dead and it is not waited for.
 * - Retry of a failed or cancelled parent re-opens it (still sealed) and retries its failed and
 *   cancelled children; it then settles again from its children.
 * - Retry of a child under a failed or cancelled parent re-opens the parent too, so the parent
 *   follows the child again. Under a shipped parent there is nothing to retry.
 */

/** Why a child may not be added under `parent`, or null when it may. */
export function childRefusal(parent: Pick<Job, "_id" | "kind" | "stage" | "sealed">): string | null {
  if (parent.kind !== "composite") return `${parent._id} is not a composite job of this product`;
  if (isTerminalStage(parent.stage))
    return `parent ${parent._id} is ${parent.stage}; a child cannot be added to a finished parent`;
  if (parent.sealed) return `parent ${parent._id} is sealed; no more children can be added to it`;
  return null;
}

/** What a composite parent waits for, or how it ends. */
export type ParentOutcome =
  /** Not sealed: children may still come. */
  | { kind: "open" }
  /** Sealed, and a child is still going (or still being stored, `inFlight`). */
  | { kind: "waiting"; inFlight: boolean }
  | { kind: "settled"; stage: "shipped" | "failed"; unshipped: string[]; reason?: string };

/**
 * A composite parent's outcome from its children (see the rules above): shipped when every child
 * shipped, else failed, naming the children that did not ship; nothing while it is open or a child
 * is still going.
 */
export function settleParent(
  parent: Pick<Job, "sealed" | "childCount" | "lastChildAt">,
  children: Pick<Job, "_id" | "stage">[],
  opts: { now: Date; graceMs: number },
): ParentOutcome {
  if (!parent.sealed) return { kind: "open" };
  if (!children.every((each) => isTerminalStage(each.stage))) return { kind: "waiting", inFlight: false };
  const admitted = parent.childCount ?? 0;
  const recent = parent.lastChildAt !== undefined && opts.now.getTime() - parent.lastChildAt.getTime() < opts.graceMs;
  if (children.length < admitted && recent) return { kind: "waiting", inFlight: true };
  const unshipped = children.filter((each) => each.stage !== "shipped").map((each) => each._id);
  if (unshipped.length === 0) return { kind: "settled", stage: "shipped", unshipped };
  return { kind: "settled", stage: "failed", unshipped, reason: `children did not ship: ${unshipped.join(", ")}` };
}

/** The children a retry of their parent retries: those that failed or were cancelled. */
export function childrenToRetry<T extends Pick<Job, "stage">>(children: T[]): T[] {
  return children.filter((each) => each.stage === "failed" || each.stage === "cancelled");
}

/**
 * What retrying a child does to its parent: re-opens a failed or cancelled parent (`reopen`),
 * refuses under a shipped one (a reason), nothing otherwise.
 */
export function parentOnChildRetry(parent: Pick<Job, "_id" | "stage">): "reopen" | "none" | { refuse: string } {
  if (parent.stage === "shipped")
    return { refuse: `parent ${parent._id} has shipped; a child of a shipped parent cannot be retried` };
  if (parent.stage === "failed" || parent.stage === "cancelled") return "reopen";
  return "none";
}
