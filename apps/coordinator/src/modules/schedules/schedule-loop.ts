import type { Logger } from "../../logger.js";
import { PeriodicTask } from "../../periodic-task.js";
import type { FiringService } from "./firing.service.js";

/**
 * The firing loop of one coordinator: a pass every `pollMs` (PeriodicTask), and after each pass a
 * timer for the nearest due time when it comes sooner, so a due time fires on time rather than
 * on the next tick. Passes never overlap. Every coordinator runs one; claims keep them apart.
 */
export class ScheduleLoop {
  private readonly task: PeriodicTask;
  private inFlight: Promise<void> | undefined;
  private early: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly opts: { firing: FiringService; pollMs: number; logger: Logger }) {
    this.task = new PeriodicTask({
      everyMs: opts.pollMs,
      run: () => this.pass(),
      logger: opts.logger,
      failure: "schedule pass failed",
    });
  }

  start(): void {
    this.task.start();
    void this.pass();
  }

  private pass(): Promise<void> {
    this.inFlight ??= this.opts.firing
      .tick()
      .then((nearest) => this.wakeAt(nearest))
      .catch((error: unknown) => this.opts.logger.error({ err: error }, "schedule pass failed"))
      .finally(() => {
        this.inFlight = undefined;
      });
    return this.inFlight;
  }

  /** Arms one timer for `nearest` when it comes before the next tick. */
  private wakeAt(nearest: Date | null): void {
    if (this.closed || !nearest) return;
    const delay = Math.max(0, nearest.getTime() - Date.now());
    if (delay >= this.opts.pollMs) return;
    if (this.early) clearTimeout(this.early);
    this.early = setTimeout(() => {
      this.early = undefined;
      void this.pass();
    }, delay);
    this.early.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.early) clearTimeout(this.early);
    await this.task.close();
    await this.inFlight;
  }
}
