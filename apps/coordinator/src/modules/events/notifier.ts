import { EventEmitter } from "node:events";
import type { JobEvent } from "@gigafactory/schema";
import { ObjectId } from "mongodb";
import type { Logger } from "../../logger.js";
import { DEFAULT_TIMINGS, type NotifierOptions } from "../../options.js";
import type { EventsRepository } from "./events.repository.js";

/** Lifecycle events after which some factory may have new work to claim. */
const WORK_EVENTS = new Set([
  "created",
  "requeued",
  "released",
  "lost",
  "completed",
  "failed",
  "cancelled",
  "retried",
  "approved",
  "rejected",
]);

export type Notice = { kind: "event"; event: JobEvent } | { kind: "drain"; productId: string; factoryId: string };

/** Notices buffered since a subscription was made; what the streams read. */
export interface Wakeups {
  /** The notices so far, waiting up to `timeoutMs` for one; empty on timeout or abort. */
  next(timeoutMs: number): Promise<Notice[]>;
}

/** The notifier as the streams see it: subscriptions that end when `signal` aborts. */
export interface NoticeSource {
  /** Notices for one product (fleet feed, factory connections). */
  product(productId: string, signal: AbortSignal): Wakeups;
  /** Wake-ups for one job's events. */
  job(jobId: string, signal: AbortSignal): Wakeups;
}

/**
 * Turns writes into wake-ups. Local writes are published at once; writes made through other
 * coordinators on the same database are picked up by tailing `events` every `pollMs`.
 * Wake-ups are hints: subscribers read the database for the truth, so a duplicate or a
 * late wake-up never yields an event twice or loses one.
 */
export class Notifier implements NoticeSource {
  private readonly emitter = new EventEmitter();
  private timer: NodeJS.Timeout | undefined;
  private tailFrom: ObjectId | undefined;
  private readonly seen = new Map<string, number>();
  private polling = false;
  private readonly opts: NotifierOptions & { logger: Logger };

  constructor(
    private readonly events: EventsRepository,
    opts: Partial<NotifierOptions> & { pollMs: number; logger: Logger },
  ) {
    this.opts = { ...DEFAULT_TIMINGS.notifier, ...opts };
    this.emitter.setMaxListeners(0);
  }

  start(): void {
    if (this.opts.pollMs <= 0) return;
    // ObjectIds from other processes are not ordered within a second: re-read a short window, skip what was seen
    this.tailFrom = ObjectId.createFromTime(Math.floor((Date.now() - this.opts.lookBackMs) / 1000));
    this.timer = setInterval(() => void this.poll(), this.opts.pollMs);
    this.timer.unref();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.emitter.emit("close");
    this.emitter.removeAllListeners();
  }

  publish(events: JobEvent[]): void {
    for (const event of events) this.deliver(event);
  }

  drain(productId: string, factoryId: string): void {
    this.emitter.emit(`product:${productId}`, { kind: "drain", productId, factoryId } satisfies Notice);
  }

  static isWorkEvent(event: JobEvent): boolean {
    return WORK_EVENTS.has(event.type);
  }

  /** Notices for one product (fleet feed, factory connections); subscribe before reading the backlog. */
  product(productId: string, signal: AbortSignal): Subscription {
    return new Subscription(this.emitter, `product:${productId}`, signal);
  }

  /** Wake-ups for one job's events. */
  job(jobId: string, signal: AbortSignal): Subscription {
    return new Subscription(this.emitter, `job:${jobId}`, signal);
  }

  private deliver(event: JobEvent): void {
    const key = `${event.jobId}:${event.seq}`;
    if (this.seen.has(key)) return;
    this.seen.set(key, Date.now());
    const notice: Notice = { kind: "event", event };
    this.emitter.emit(`job:${event.jobId}`, notice);
    this.emitter.emit(`product:${event.productId}`, notice);
  }

  private async poll(): Promise<void> {
    if (this.polling || !this.tailFrom) return;
    this.polling = true;
    try {
      const { tailBatch, lookBackMs } = this.opts;
      const docs = await this.events.since({ _id: { $gte: this.tailFrom } }, tailBatch);
      for (const { _id, ...event } of docs) this.deliver(event);
      const newest = docs.at(-1)?._id;
      // a full batch means a backlog: move on without the look-back so the tail always advances
      if (newest)
        this.tailFrom =
          docs.length < tailBatch
            ? ObjectId.createFromTime(Math.max((newest.getTimestamp().getTime() - lookBackMs) / 1000, 0))
            : newest;
      this.forgetOld();
    } catch (error) {
      this.opts.logger.warn({ err: error }, "notifier poll failed");
    } finally {
      this.polling = false;
    }
  }

  private forgetOld(): void {
    const cutoff = Date.now() - this.opts.seenForMs;
    for (const [key, at] of this.seen) {
      if (at >= cutoff) break;
      this.seen.delete(key);
    }
  }
}

/** Buffers notices from the moment it is made, so nothing published during a backfill is missed. */
export class Subscription implements Wakeups {
  private buffer: Notice[] = [];
  private wake: (() => void) | undefined;
  private readonly listener = (notice: Notice) => {
    this.buffer.push(notice);
    this.wake?.();
  };

  constructor(
    emitter: EventEmitter,
    channel: string,
    private readonly signal: AbortSignal,
  ) {
    emitter.on(channel, this.listener);
    const stop = () => {
      emitter.off(channel, this.listener);
      emitter.off("close", stop);
      this.wake?.();
    };
    signal.addEventListener("abort", stop, { once: true });
    emitter.once("close", stop);
  }

  /** The notices so far, waiting up to `timeoutMs` for one; empty on timeout or abort. */
  async next(timeoutMs: number): Promise<Notice[]> {
    if (this.buffer.length === 0 && !this.signal.aborted) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
    const notices = this.buffer;
    this.buffer = [];
    return notices;
  }
}
