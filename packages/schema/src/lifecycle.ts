import type { Stage } from "./stages.js";

/**
 * Every allowed stage transition, as data. Both apps decide with {@link canTransition};
 * nothing else in the code base may hard-code a stage change.
 */
export const TRANSITIONS: Readonly<Record<Stage, readonly Stage[]>> = {
  // claim; cancel; a failed dependency fails its dependents; a composite job ships when its children have
  inbox: ["building", "cancelled", "failed", "shipped"],
  // review when asked, testing when there are verify gates, shipped otherwise;
  // inbox on a failed/lost/released attempt with attempts left; failed when none are left
  building: ["review", "testing", "shipped", "inbox", "failed", "cancelled"],
  // approved/reviewed → testing or shipped; rejected → rework (inbox) or failed
  review: ["testing", "shipped", "inbox", "failed", "cancelled"],
  // human review parks a job after its verify gates passed
  testing: ["review", "shipped", "inbox", "failed", "cancelled"],
  shipped: [],
  // retry
  failed: ["inbox"],
  cancelled: ["inbox"],
};

export function canTransition(from: Stage, to: Stage): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Stages from which `to` can be reached; handy as a MongoDB `$in` filter. */
export function stagesLeadingTo(to: Stage): Stage[] {
  return (Object.keys(TRANSITIONS) as Stage[]).filter((from) => canTransition(from, to));
}
