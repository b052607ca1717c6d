import { MAX_TIMER_MS, renewEvery } from "../options.js";

export interface LeaseKeeperOptions {
  leaseTtlMs: number;
  /**
   * When the claim that granted the lease was sent (epoch ms, this host's clock): the lease runs
   * at least until this plus its TTL, whatever the coordinator's clock says.
   */
  grantedAt: number;
  /**
   * One renewal; resolves when the coordinator renewed the lease, rejects when it did not (the
   * keeper calls it again on the next tick regardless).
   */
  renew: () => Promise<void>;
  /** How long the attempt may run before {@link LeaseKeeperOptions.onOverrun}. */
  watchdogMs: number;
  /** The attempt overran its watchdog: renewing has stopped, so the lease will lapse. */
  onOverrun: (limitMs: number) => void;
  /** How long before the deadline an unrenewed lease is given up ({@link LeaseKeeperOptions.onExpiring}). */
  selfFenceMarginMs: number;
  /**
   * No renewal succeeded and the lease's deadline is within the margin: the factory must stop
   * the job itself before another factory may claim it. Renewing has stopped.
   */
  onExpiring: (deadline: number) => void;
}

/**
 * Renews a lease every {@link renewEvery} (a third of its TTL), knows its deadline and bounds the
 * attempt. The deadline is the send time of the last successful claim or renewal plus the TTL:
 * the coordinator set its expiry later than that, so the factory's clock alone is enough. Writes
 * are retried until the deadline; when it comes within the self-fence margin with no renewal
 * having succeeded, the keeper says so once (self-fencing). Past the watchdog, something outside
 * the engine and gate processes (which have their own timeouts) hung, so renewing stops, the lease
 * lapses and the coordinator's reaper gives the job back.
 */
export class LeaseKeeper {
  private renewTimer: NodeJS.Timeout | undefined;
  private watchdogTimer: NodeJS.Timeout | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private renewing = false;
  private expiring = false;
  private leaseDeadline: number;
  private overran: () => void = () => undefined;
  /** Settles when the watchdog fires (after {@link LeaseKeeperOptions.onOverrun}); never when stopped before. */
  readonly overrun = new Promise<void>((resolve) => {
    this.overran = resolve;
  });

  constructor(private readonly opts: LeaseKeeperOptions) {
    this.leaseDeadline = opts.grantedAt + opts.leaseTtlMs;
  }

  /** The latest moment (epoch ms, this host's clock) the lease is known to be held until. */
  get deadline(): number {
    return this.leaseDeadline;
  }

  /** Whether the lease was given up because it could not be renewed in time. */
  get expired(): boolean {
    return this.expiring;
  }

  start(): void {
    this.renewing = true;
    this.renewTimer = setInterval(() => void this.renewOnce(), renewEvery(this.opts.leaseTtlMs));
    this.armExpiry();
    const limitMs = Math.min(MAX_TIMER_MS, this.opts.watchdogMs);
    this.watchdogTimer = setTimeout(() => {
      this.stopRenewing();
      this.opts.onOverrun(limitMs);
      this.overran();
    }, limitMs);
  }

  /** A renewal that succeeded after being sent at `sentAt` (epoch ms): the deadline moves on. */
  renewed(sentAt: number): void {
    if (this.expiring) return;
    const deadline = sentAt + this.opts.leaseTtlMs;
    if (deadline <= this.leaseDeadline) return;
    this.leaseDeadline = deadline;
    if (this.renewing) this.armExpiry();
  }

  /** No more renewals (the lease is lost, given back or done with); the watchdog stays. */
  stopRenewing(): void {
    this.renewing = false;
    clearInterval(this.renewTimer);
    clearTimeout(this.expiryTimer);
  }

  stop(): void {
    this.stopRenewing();
    clearTimeout(this.watchdogTimer);
  }

  private async renewOnce(): Promise<void> {
    const sentAt = Date.now();
    try {
      await this.opts.renew();
      this.renewed(sentAt);
    } catch {
      // the caller logs it; the expiry timer acts if no renewal gets through in time
    }
  }

  private armExpiry(): void {
    clearTimeout(this.expiryTimer);
    const at = this.leaseDeadline - this.opts.selfFenceMarginMs;
    this.expiryTimer = setTimeout(
      () => {
        if (!this.renewing) return;
        if (Date.now() < this.leaseDeadline - this.opts.selfFenceMarginMs) return this.armExpiry();
        this.expiring = true;
        this.stopRenewing();
        this.opts.onExpiring(this.leaseDeadline);
      },
      Math.min(MAX_TIMER_MS, Math.max(0, at - Date.now())),
    );
  }
}
