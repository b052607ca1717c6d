import type { JobEvent } from "@gigafactory/schema";
import { type Notice, type NoticeSource, type Wakeups, factoryChannel } from "../modules/events/notifier.js";

/**
 * A notifier for the streams' unit tests: no database, notices pushed by hand, and a count of
 * the subscriptions still open on each channel so a test can see that a stream let go of its own.
 * Waits run on timers, so fake timers drive them.
 */
export class FakeNotifier implements NoticeSource {
  private readonly open = new Map<string, Set<FakeWakeups>>();

  job(jobId: string, signal: AbortSignal): Wakeups {
    return this.subscribe(`job:${jobId}`, signal);
  }

  product(productId: string, signal: AbortSignal): Wakeups {
    return this.subscribe(`product:${productId}`, signal);
  }

  factory(productId: string, factoryId: string, signal: AbortSignal): Wakeups {
    return this.subscribe(factoryChannel(productId, factoryId), signal);
  }

  /** Delivers an event to its job's and its product's subscribers (a cancel also to its holder's). */
  publish(event: JobEvent): void {
    this.emit(`job:${event.jobId}`, { kind: "event", event });
    this.emit(`product:${event.productId}`, { kind: "event", event });
    const holder = event.data.factoryId;
    if (event.type === "cancel_requested" && typeof holder === "string")
      this.emit(factoryChannel(event.productId, holder), { kind: "event", event });
  }

  drain(productId: string, factoryId: string): void {
    this.emit(factoryChannel(productId, factoryId), { kind: "drain", productId, factoryId });
  }

  nudge(productId: string, factoryIds: string[]): void {
    for (const factoryId of factoryIds)
      this.emit(factoryChannel(productId, factoryId), { kind: "work", productId, factoryIds: [factoryId] });
  }

  /** Subscriptions still open on a channel (`job:<id>`, `product:<id>`, `factory:<product>:<id>`). */
  listeners(channel: string): number {
    return this.open.get(channel)?.size ?? 0;
  }

  private emit(channel: string, notice: Notice): void {
    for (const subscription of this.open.get(channel) ?? []) subscription.push(notice);
  }

  private subscribe(channel: string, signal: AbortSignal): Wakeups {
    const subscriptions = this.open.get(channel) ?? new Set();
    this.open.set(channel, subscriptions);
    const subscription = new FakeWakeups(signal);
    if (signal.aborted) return subscription;
    subscriptions.add(subscription);
    signal.addEventListener(
      "abort",
      () => {
        subscriptions.delete(subscription);
        subscription.wake();
      },
      { once: true },
    );
    return subscription;
  }
}

class FakeWakeups implements Wakeups {
  private buffer: Notice[] = [];
  private waiting: (() => void) | undefined;

  constructor(private readonly signal: AbortSignal) {}

  push(notice: Notice): void {
    this.buffer.push(notice);
    this.wake();
  }

  wake(): void {
    this.waiting?.();
  }

  async next(timeoutMs: number): Promise<Notice[]> {
    if (this.buffer.length === 0 && !this.signal.aborted) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.waiting = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiting = undefined;
    }
    const notices = this.buffer;
    this.buffer = [];
    return notices;
  }
}
