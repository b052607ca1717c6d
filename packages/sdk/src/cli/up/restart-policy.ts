/**
 * When `gf up` restarts a process of its fleet that died (a factory, the coordinator), and when
 * it gives up: capped exponential backoff over the exits in a sliding window. A process that
 * stays up longer than the window starts over at the first delay.
 */
export interface RestartLimits {
  firstDelayMs: number;
  maxDelayMs: number;
  windowMs: number;
  maxExits: number;
}

export const RESTART: Readonly<RestartLimits> = {
  /** The delay before the first restart. */
  firstDelayMs: 1_000,
  /** The longest delay between two restarts. */
  maxDelayMs: 30_000,
  /** Exits counted together: one older than this is forgotten. */
  windowMs: 5 * 60_000,
  /** This many exits within the window (the last one included): give up and stop the fleet. */
  maxExits: 5,
};

export type RestartDecision = { restartInMs: number } | { giveUp: string };

/** One process's exits; `exited()` says what to do about the latest one. */
export class RestartPolicy {
  private exits: number[] = [];

  constructor(private readonly limits: Readonly<RestartLimits> = RESTART) {}

  exited(now = Date.now()): RestartDecision {
    const { firstDelayMs, maxDelayMs, windowMs, maxExits } = this.limits;
    this.exits = [...this.exits.filter((at) => now - at < windowMs), now];
    const recent = this.exits.length;
    if (recent >= maxExits) return { giveUp: `it exited ${recent} times within ${Math.round(windowMs / 1000)}s` };
    return { restartInMs: Math.min(maxDelayMs, firstDelayMs * 2 ** (recent - 1)) };
  }
}
