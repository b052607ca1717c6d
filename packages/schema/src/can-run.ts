import type { Factory } from "./factory.js";
import type { Job } from "./job.js";

/** What a factory offers, as far as the can-run rule looks. */
export type RunOffer = Pick<Factory, "state" | "capabilities" | "engines">;
/** What a job asks for, as far as the can-run rule looks. */
export type RunNeeds = Pick<Job, "engine" | "capabilities">;

/**
 * Whether `factory` is able to run `job`: the factory is `active`, offers the job's engine, and
 * offers every capability the job requires (the job's capabilities ⊆ the factory's).
 *
 * This is the factory side of the claim only; whether the job is claimable right now (stage
 * `inbox`, no pending deps, `notBefore` passed, not cancelled, its lock free) is not part of it.
 * Its MongoDB twin is `claimFilter` in `apps/coordinator/src/modules/jobs/jobs.repository.ts`,
 * which the claim runs as one `findOneAndUpdate`; the coordinator's `connect` stream uses this
 * function to nudge only factories that could claim a new job. Change both together.
 */
export function canRun(factory: RunOffer, job: RunNeeds): boolean {
  if (factory.state !== "active") return false;
  if (!factory.engines.includes(job.engine)) return false;
  return job.capabilities.every((capability) => factory.capabilities.includes(capability));
}
