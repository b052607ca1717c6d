import { MAX_TIMER_MS, renewEvery } from "../options.js";

export interface LeaseKeeperOptions {
  leaseTtlMs: number;
  /** One renewal; its failures are the caller's to handle (it is called again on the next tick regardless). */
  renew: () => Promise<void>;
  /** How long the attempt may run before {@link LeaseKeeperOptions.onOverrun}. */
  watchdogMs: number;
  /** The attempt overran its watchdog: renewing has stopped, so the lease will lapse. */
  onOverrun: (limitMs: number) => void;
}

/**
 * Renews a lease every {@link renewEvery} (a third of its TTL) and bounds the attempt: past the watchdog, something outside
 * the engine and gate processes (which have their own timeouts) hung, so renewing stops, the lease
 * lapses and the coordinator's reaper gives the job back.
 */
export class LeaseKeeper {
  private renewTimer: NodeJS.Timeout | undefined;
  private watchdogTimer: NodeJS.Timeout | undefined;
  private overran: () => void = () => undefined;
  /** Settles when the watchdog fires (after {@link LeaseKeeperOptions.onOverrun}); never when stopped before. */
  readonly overrun = new Promise<void>((resolve) => {
    this.overran = resolve;
  });

  constructor(private readonly opts: LeaseKeeperOptions) {}

  start(): void {
    this.renewTimer = setInterval(() => void this.opts.renew(), renewEvery(this.opts.leaseTtlMs));
    const limitMs = Math.min(MAX_TIMER_MS, this.opts.watchdogMs);
    this.watchdogTimer = setTimeout(() => {
      clearInterval(this.renewTimer);
      this.opts.onOverrun(limitMs);
      this.overran();
    }, limitMs);
  }

  /** No more renewals (the lease is lost, given back or done with); the watchdog stays. */
  stopRenewing(): void {
    clearInterval(this.renewTimer);
  }

  stop(): void {
    clearInterval(this.renewTimer);
    clearTimeout(this.watchdogTimer);
  }
}
