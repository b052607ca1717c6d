import type { Logger } from "./logger.js";

/**
 * Runs `run` every `everyMs`, one pass at a time (a tick that finds a pass still running is
 * skipped); a failed pass is logged and the next tick tries again. `close()` stops the timer and
 * waits for a pass in flight. The timer does not keep the process alive.
 */
export class PeriodicTask {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly opts: {
      everyMs: number;
      run: () => Promise<unknown>;
      logger: Logger;
      /** The log message of a failed pass. */
      failure: string;
    },
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.opts
        .run()
        .then(() => undefined)
        .catch((error: unknown) => this.opts.logger.error({ err: error }, this.opts.failure))
        .finally(() => {
          this.running = undefined;
        });
    }, this.opts.everyMs);
    this.timer.unref();
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
