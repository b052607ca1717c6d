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

/**
 * A composite parent's outcome from its children: none while any child is still going; shipped
 * when every child shipped, else failed, naming the children that did not ship.
 */
export function settleParent(children: Pick<Job, "_id" | "stage">[]): {
  stage: "shipped" | "failed";
  unshipped: string[];
  reason?: string;
} | null {
  if (!children.every((each) => isTerminalStage(each.stage))) return null;
  const unshipped = children.filter((each) => each.stage !== "shipped").map((each) => each._id);
  if (unshipped.length === 0) return { stage: "shipped", unshipped };
  return { stage: "failed", unshipped, reason: `children did not ship: ${unshipped.join(", ")}` };
}
