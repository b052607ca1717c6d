/**
 * Why a runner stops before its attempt ends on its own: `cancel` (the coordinator asked),
 * `drain` (the factory is stopping; checkpoint and release), `fenced` (a newer lease holds the
 * job), `kill` (second signal: the daemon exits now), `watchdog` (the attempt overran every bound
 * and gives its lease up), `expired` (no renewal got through and the lease's deadline is near:
 * the factory fences itself before another factory may claim the job).
 */
export type StopReason = "cancel" | "drain" | "fenced" | "kill" | "watchdog" | "expired";

/** After these the runner writes nothing more and moves no git ref: the lease is, or is about to be, someone else's. */
export function isSilent(reason: StopReason | undefined): boolean {
  return reason === "fenced" || reason === "kill" || reason === "watchdog" || reason === "expired";
}

/**
 * The first reason stays, except that a silencing one overrides `cancel` or `drain`: a runner
 * fenced while it drains must not go on to checkpoint and release a lease it no longer holds.
 */
export function nextStopReason(current: StopReason | undefined, incoming: StopReason): StopReason {
  if (current === undefined || (!isSilent(current) && isSilent(incoming))) return incoming;
  return current;
}

/** A write refused by the runner itself: it was stopped for a reason after which it reports nothing. */
export class StoppedSignal extends Error {
  constructor(
    readonly jobId: string,
    readonly reason: StopReason,
  ) {
    super(`job ${jobId}: stopped (${reason}); nothing more is reported`);
    this.name = "StoppedSignal";
  }
}
