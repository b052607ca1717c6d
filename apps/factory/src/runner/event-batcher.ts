import type { NewEvent } from "@gigafactory/schema";
import { EVENT_BATCH_MAX, EVENT_FLUSH_MS } from "../options.js";

export interface EventBatcherOptions {
  /** Sends one batch; resolves when the coordinator accepted it. */
  send: (events: NewEvent[]) => Promise<void>;
  /** @defaultValue {@link EVENT_BATCH_MAX} */
  maxBatch?: number;
  /** @defaultValue {@link EVENT_FLUSH_MS} */
  flushMs?: number;
}

/**
 * Collects events and sends them in order, one batch in flight at a time, at most every
 * `flushMs` or when `maxBatch` are waiting. A failed send stops the batcher (the caller
 * decides: a fenced job sends nothing more).
 */
export class EventBatcher {
  private pending: NewEvent[] = [];
  private inFlight: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private failure: unknown;

  constructor(private readonly opts: EventBatcherOptions) {}

  push(event: NewEvent): void {
    if (this.stopped) return;
    this.pending.push({ ...event, at: event.at ?? new Date() });
    if (this.pending.length >= (this.opts.maxBatch ?? EVENT_BATCH_MAX)) this.kick();
    else this.timer ??= setTimeout(() => this.kick(), this.opts.flushMs ?? EVENT_FLUSH_MS);
  }

  /** Sends everything pushed so far; rejects with the first send failure. */
  async flush(): Promise<void> {
    this.kick();
    await this.inFlight;
    if (this.failure) throw this.failure;
  }

  stop(): void {
    this.stopped = true;
    this.pending = [];
    if (this.timer) clearTimeout(this.timer);
  }

  private kick(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0 || this.stopped) return;
    const batch = this.pending.splice(0, this.opts.maxBatch ?? EVENT_BATCH_MAX);
    this.inFlight = this.inFlight.then(async () => {
      if (this.stopped) return;
      try {
        await this.opts.send(batch);
      } catch (error) {
        this.failure ??= error;
        this.stop();
      }
    });
    if (this.pending.length) this.kick();
  }
}
