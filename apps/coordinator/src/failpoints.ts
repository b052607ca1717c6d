/**
 * Failpoints: named steps where a test can make the coordinator throw or die, to check that
 * what a request left half done still converges (see `OutcomesService.catchUp` and the reaper).
 *
 * Off unless the process starts with `GF_FAILPOINTS`, e.g. `complete.afterMove=exit` or
 * `cancel.afterMove=throw,reap.afterMove=exit`. `throw` fails the request (a 500); `exit` ends
 * the process at once (code 137, as a SIGKILL would), with no cleanup.
 *
 * The variable is read here, once, at module load, and not in `env.ts`: it is a test hook rather
 * than configuration, and reading it where it is used keeps every call site a plain function
 * call with nothing to wire. When it is unset a failpoint is one comparison.
 */

/** Every failpoint, named `<operation>.<step>`; the step is the point just passed. */
export const FAILPOINTS = [
  /** `jobs.create`: the job is stored, its `created` event and dependency re-check are not. */
  "create.afterInsert",
  /** `factory.claim`: the job left the inbox with a lease; its lock, run and event are not done. */
  "claim.afterClaim",
  /** `factory.claim`: the job's run and claimed event are written; the answer is not sent. */
  "claim.afterRun",
  /** `factory.complete`: the attempt ended (stage changed); run, event and follow-ups are not done. */
  "complete.afterMove",
  /** `factory.release`: the job was given back (or cancelled); run, event and follow-ups are not done. */
  "release.afterMove",
  /** The reaper took back an expired lease; run, event and follow-ups are not done. */
  "reap.afterMove",
  /** `jobs.cancel` of an idle job: it is cancelled; its event and follow-ups are not done. */
  "cancel.afterMove",
  /** `jobs.approve`: the job left review; its event and follow-ups are not done. */
  "approve.afterMove",
  /** `jobs.reject`: the job left review; its event and follow-ups are not done. */
  "reject.afterMove",
  /** Follow-ups: the lock is released, dependents and the parent are not handled yet. */
  "settle.afterLockRelease",
  /** Follow-ups: a dependent was failed with its dependency; its own follow-ups are not done. */
  "doom.afterMove",
  /** `factory.appendEvents`: the events' seqs are reserved on the job; the events are not written. */
  "append.afterReserve",
  /** A schedule's due time is claimed (its firing lease written); its job is not created yet. */
  "schedule.afterClaim",
] as const;
export type Failpoint = (typeof FAILPOINTS)[number];

export type FailpointAction = "throw" | "exit";

/** Thrown by a failpoint set to `throw`. */
export class FailpointError extends Error {
  override name = "FailpointError";
  constructor(readonly failpoint: Failpoint) {
    super(`failpoint ${failpoint}`);
  }
}

/** Parses `name=action,...`; an unknown name or action is an error, so a test cannot arm nothing. */
export function parseFailpoints(spec: string | undefined): Map<Failpoint, FailpointAction> | undefined {
  if (!spec?.trim()) return undefined;
  const armed = new Map<Failpoint, FailpointAction>();
  for (const entry of spec.split(",")) {
    const [name = "", action = ""] = entry.split("=").map((part) => part.trim());
    if (!(FAILPOINTS as readonly string[]).includes(name))
      throw new Error(`GF_FAILPOINTS: unknown failpoint "${name}" (known: ${FAILPOINTS.join(", ")})`);
    if (action !== "throw" && action !== "exit")
      throw new Error(`GF_FAILPOINTS: failpoint ${name} wants "throw" or "exit", not "${action}"`);
    armed.set(name as Failpoint, action);
  }
  return armed;
}

const armed = parseFailpoints(process.env.GF_FAILPOINTS);

/** Marks a step; does nothing unless `GF_FAILPOINTS` armed it. */
export function failpoint(name: Failpoint): void {
  if (armed === undefined) return;
  const action = armed.get(name);
  if (action === "throw") throw new FailpointError(name);
  if (action === "exit") process.exit(137);
}
