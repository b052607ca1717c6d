import { EventEmitter } from "node:events";
import type { JobEvent } from "@gigafactory/schema";
import type { Logger } from "../../logger.js";
import { DEFAULT_TIMINGS, type NotifierOptions } from "../../options.js";
import type { EventsRepository } from "./events.repository.js";
import { EventTail } from "./event-tail.js";

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

export type Notice =
  | { kind: "event"; event: JobEvent }
  | { kind: "drain"; productId: string; factoryId: string }
  /** `work` for these factories' connections on this coordinator (the nudge router picked them). */
  | { kind: "work"; productId: string; factoryIds: string[] };

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
  /**
   * Notices for one factory's `connect`: its drain, cancels of jobs it holds, and the `work` the
   * nudge router picked it for. Its own channel, so 1,000 connections are not all woken by every
   * event in the product.
   */
  factory(productId: string, factoryId: string, signal: AbortSignal): Wakeups;
}

/** The channel of one factory's own notices. */
export function factoryChannel(productId: string, factoryId: string): string {
  return `factory:${productId}:${factoryId}`;
}

/**
 * Turns writes into wake-ups. Local writes are published at once; writes made through other
 * coordinators on the same database are picked up by tailing `events` every `pollMs`
 * ({@link EventTail}: `_id` order with a look-back computed from the ObjectIds). Wake-ups are
 * hints: subscribers read the database for the truth, so a duplicate or a late wake-up never
 * yields an event twice or loses one. A poll that takes longer than `pollTimeoutMs` is given up
 * (and the server stops it too), so a hung query never stops later polls.
 */
export class Notifier implements NoticeSource {
  private readonly emitter = new EventEmitter();
  /** Told of every event delivered, local or tailed (caches that events invalidate). */
  private readonly watchers = new Set<(event: JobEvent) => void>();
  private timer: NodeJS.Timeout | undefined;
  private readonly tail: EventTail;
  private started = false;
  /** Local events published in the last `seenForMs`, so the tail does not publish them again. */
  private readonly published = new Map<string, number>();
  private polling = false;
  private pass = 0;
  private readonly opts: NotifierOptions & { logger: Logger; onTailed?: (event: JobEvent) => void };

  /** `onTailed`: told of each event the tail delivers (written elsewhere), for the notifier-lag metric. */
  constructor(
    private readonly events: Pick<EventsRepository, "tailAfter" | "newestId">,
    opts: Partial<NotifierOptions> & { pollMs: number; logger: Logger; onTailed?: (event: JobEvent) => void },
  ) {
    this.opts = { ...DEFAULT_TIMINGS.notifier, ...opts };
    this.emitter.setMaxListeners(0);
    const maxTimeMs = this.opts.pollTimeoutMs;
    this.tail = new EventTail((after, limit) => this.events.tailAfter(after, limit, { maxTimeMs }), {
      pageSize: this.opts.tailBatch,
      lookBackMs: this.opts.lookBackMs,
    });
  }

  private get tailing(): boolean {
    return this.opts.pollMs > 0;
  }

  start(): void {
    if (!this.tailing) return;
    this.timer = setInterval(() => void this.poll(), this.opts.pollMs);
    this.timer.unref();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.pass++;
    this.emitter.emit("close");
    this.emitter.removeAllListeners();
  }

  publish(events: JobEvent[]): void {
    for (const event of events) {
      // only a tail can see an event twice: without one there is nothing to remember
      if (this.tailing) this.published.set(keyOf(event), Date.now());
      this.deliver(event);
    }
    this.forgetPublished();
  }

  drain(productId: string, factoryId: string): void {
    this.emitter.emit(factoryChannel(productId, factoryId), { kind: "drain", productId, factoryId } satisfies Notice);
  }

  /** Tells these factories' connections to look for work (`factories/nudge-router.ts` decides who). */
  nudge(productId: string, factoryIds: string[]): void {
    for (const factoryId of factoryIds)
      this.emitter.emit(factoryChannel(productId, factoryId), {
        kind: "work",
        productId,
        factoryIds: [factoryId],
      } satisfies Notice);
  }

  /**
   * Calls `watcher` with every event this coordinator delivers, its own and those tailed from
   * other coordinators (so within `pollMs` of their write); returns the unsubscribe.
   */
  watch(watcher: (event: JobEvent) => void): () => void {
    this.watchers.add(watcher);
    return () => this.watchers.delete(watcher);
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

  /** A factory's own notices (see {@link NoticeSource.factory}). */
  factory(productId: string, factoryId: string, signal: AbortSignal): Subscription {
    return new Subscription(this.emitter, factoryChannel(productId, factoryId), signal);
  }

  /** Subscriptions open now, over every channel (tests check that streams let go of theirs). */
  listenerCount(): number {
    let count = 0;
    for (const name of this.emitter.eventNames()) if (name !== "close") count += this.emitter.listenerCount(name);
    return count;
  }

  /** How many events the notifier remembers to avoid publishing them twice (bounded by time). */
  get remembered(): number {
    return this.published.size + this.tail.remembered;
  }

  private deliver(event: JobEvent): void {
    for (const watcher of this.watchers) watcher(event);
    const notice: Notice = { kind: "event", event };
    this.emitter.emit(`job:${event.jobId}`, notice);
    this.emitter.emit(`product:${event.productId}`, notice);
    const holder = event.data.factoryId;
    if (event.type === "cancel_requested" && typeof holder === "string")
      this.emitter.emit(factoryChannel(event.productId, holder), notice);
  }

  /** One tail pass, given up after `pollTimeoutMs`; the next poll starts a fresh one. */
  async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    const pass = ++this.pass;
    const current = () => pass === this.pass;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), this.opts.pollTimeoutMs);
    });
    try {
      const outcome = await Promise.race([this.runPass(current), timedOut]);
      if (outcome === "timeout")
        this.opts.logger.warn({ timeoutMs: this.opts.pollTimeoutMs }, "notifier poll timed out");
    } catch (error) {
      this.opts.logger.warn({ err: error }, "notifier poll failed");
    } finally {
      clearTimeout(timer);
      if (current()) this.pass++; // a pass still running after a time-out stops at its next step
      this.polling = false;
    }
  }

  private async runPass(current: () => boolean): Promise<"done"> {
    if (!this.started) {
      // start after the newest event there is: the position comes from the data, not this clock
      const newest = await this.events.newestId({ maxTimeMs: this.opts.pollTimeoutMs });
      if (!current()) return "done";
      this.tail.startAfter(newest);
      this.started = true;
    }
    for await (const { _id, ...event } of this.tail.pass(current)) {
      if (this.published.delete(keyOf(event))) continue;
      this.opts.onTailed?.(event);
      this.deliver(event);
    }
    this.forgetPublished();
    return "done";
  }

  private forgetPublished(): void {
    const cutoff = Date.now() - this.opts.seenForMs;
    for (const [key, at] of this.published) {
      if (at >= cutoff) break;
      this.published.delete(key);
    }
  }
}

function keyOf(event: Pick<JobEvent, "jobId" | "seq">): string {
  return `${event.jobId}:${event.seq}`;
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
