import { CLAIM_POLL_BACKOFF_MAX, CLAIM_POLL_JITTER } from "../options.js";

/**
 * The daemon's claim poll: the net under the coordinator's `work` nudges, which it does not need
 * while they arrive. Each poll that finds nothing doubles the wait, up to
 * {@link CLAIM_POLL_BACKOFF_MAX} times the configured interval; any sign of work (a nudge, a
 * claimed job, a seat freed, the subscription (re)started) brings it back to the interval. Every
 * wait is jittered by ±{@link CLAIM_POLL_JITTER}, so a fleet started together does not poll in step:
 * 1,000 idle daemons polling every 5 s in step were 200 empty claims a second, in bursts.
 */
export class ClaimPoll {
  private timer: NodeJS.Timeout | undefined;
  private factor = 1;
  private stopped = false;
  /** Bumped by every reset: a poll during which one came (it claimed, or work was nudged) does not back off. */
  private resets = 0;

  constructor(
    private readonly opts: {
      intervalMs: number;
      /** Claims; a claim that brings jobs calls {@link reset} (as any sign of work does). */
      poll: () => Promise<unknown>;
      random?: () => number;
    },
  ) {}

  /** The wait before the next poll, with the current backoff and jitter. */
  nextDelayMs(): number {
    const jitter = 1 + CLAIM_POLL_JITTER * (2 * (this.opts.random ?? Math.random)() - 1);
    return Math.round(this.opts.intervalMs * this.factor * jitter);
  }

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  /** Work may be there: the next poll comes after one interval again. */
  reset(): void {
    this.factor = 1;
    this.resets++;
    if (this.timer) this.schedule();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    clearTimeout(this.timer);
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), this.nextDelayMs());
    this.timer.unref?.();
  }

  private async tick(): Promise<void> {
    this.timer = undefined;
    const resets = this.resets;
    try {
      await this.opts.poll();
    } catch {
      // the claim loop logs its own failures; the poll keeps its cadence
    }
    // no reset while it ran (no job claimed, no nudge): nothing to do, wait longer
    if (this.resets === resets) this.factor = Math.min(this.factor * 2, CLAIM_POLL_BACKOFF_MAX);
    if (!this.timer) this.schedule();
  }
}
