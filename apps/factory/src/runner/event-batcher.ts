import { randomUUID } from "node:crypto";
import type { NewEvent } from "@gigafactory/schema";
import {
  EVENT_BATCH_MAX,
  EVENT_BATCH_MAX_BYTES,
  EVENT_BUFFER_MAX,
  EVENT_BUFFER_MAX_BYTES,
  EVENT_FLUSH_MS,
} from "../options.js";

export interface EventBatcherOptions {
  /**
   * Sends one batch; resolves when the coordinator accepted it. It retries transient failures
   * itself (until the lease's deadline), always with the batch's `requestId` (a UUID chosen once
   * per batch), so a retry whose first try was applied (its answer lost) is not appended twice.
   * A rejection stops the batcher.
   */
  send: (events: NewEvent[], requestId: string) => Promise<void>;
  /** @defaultValue {@link EVENT_BATCH_MAX} */
  maxBatch?: number;
  /** Bytes of event data per batch (at least one event is sent). @defaultValue {@link EVENT_BATCH_MAX_BYTES} */
  maxBatchBytes?: number;
  /** @defaultValue {@link EVENT_FLUSH_MS} */
  flushMs?: number;
  /** Events held at most (not counting the batch in flight). @defaultValue {@link EVENT_BUFFER_MAX} */
  maxBuffered?: number;
  /** Bytes of event data held at most. @defaultValue {@link EVENT_BUFFER_MAX_BYTES} */
  maxBufferedBytes?: number;
}

/** The marker left where log lines were dropped; its count grows until it is sent. */
interface DroppedMarker extends NewEvent {
  type: "dropped";
  data: { count: number; text: string };
}

/** The event's data as the coordinator measures it: UTF-8 bytes of its JSON. */
const sizeOf = (event: NewEvent): number => Buffer.byteLength(JSON.stringify(event.data) ?? "");

/**
 * Collects events and sends them in order, one batch in flight at a time, at most every
 * `flushMs` or when `maxBatch` are waiting. While a batch is in flight (a send being retried
 * through a coordinator outage) events wait in a bounded buffer: past `maxBuffered` events or
 * `maxBufferedBytes`, the oldest `log` lines are dropped and counted by a `dropped` event in
 * their place; no other event is ever dropped. A failed send stops the batcher (the caller
 * decides: a fenced job sends nothing more).
 */
export class EventBatcher {
  private pending: NewEvent[] = [];
  private pendingBytes = 0;
  private marker: DroppedMarker | undefined;
  private droppedTotal = 0;
  private sending: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private failure: unknown;

  constructor(private readonly opts: EventBatcherOptions) {}

  /** Log lines dropped so far because the buffer was full. */
  get dropped(): number {
    return this.droppedTotal;
  }

  push(event: NewEvent): void {
    if (this.stopped) return;
    const stamped = { ...event, at: event.at ?? new Date() };
    this.pending.push(stamped);
    this.pendingBytes += sizeOf(stamped);
    this.trim();
    if (this.pending.length >= this.maxBatch) this.kick();
    else this.timer ??= setTimeout(() => this.kick(), this.opts.flushMs ?? EVENT_FLUSH_MS);
  }

  /** Sends everything pushed so far; rejects with the first send failure. */
  async flush(): Promise<void> {
    this.kick();
    while (this.sending) await this.sending;
    if (this.failure) throw this.failure;
  }

  stop(): void {
    this.stopped = true;
    this.pending = [];
    this.pendingBytes = 0;
    this.marker = undefined;
    if (this.timer) clearTimeout(this.timer);
  }

  private get maxBatch(): number {
    return this.opts.maxBatch ?? EVENT_BATCH_MAX;
  }

  /** How many pending events make the next batch: up to {@link maxBatch}, within the byte bound. */
  private batchLength(): number {
    const maxBytes = this.opts.maxBatchBytes ?? EVENT_BATCH_MAX_BYTES;
    let bytes = 0;
    let count = 0;
    for (const event of this.pending) {
      if (count >= this.maxBatch) break;
      bytes += sizeOf(event);
      if (count > 0 && bytes > maxBytes) break;
      count++;
    }
    return count;
  }

  private full(): boolean {
    return (
      this.pending.length > (this.opts.maxBuffered ?? EVENT_BUFFER_MAX) ||
      this.pendingBytes > (this.opts.maxBufferedBytes ?? EVENT_BUFFER_MAX_BYTES)
    );
  }

  /** Drops the oldest log lines until the buffer fits; the first one dropped becomes the marker. */
  private trim(): void {
    let from = 0;
    while (this.full()) {
      const index = this.pending.findIndex((event, at) => at >= from && event.type === "log");
      if (index === -1) return; // nothing but events that must not be dropped: hold them all
      from = index;
      const [gone] = this.pending.splice(index, 1) as [NewEvent];
      this.pendingBytes -= sizeOf(gone);
      this.droppedTotal++;
      if (this.marker) {
        this.pendingBytes -= sizeOf(this.marker);
        this.marker.data.count++;
      } else {
        this.marker = { type: "dropped", at: gone.at ?? new Date(), data: { count: 1, text: "" } };
        this.pending.splice(index, 0, this.marker);
        from = index + 1;
      }
      this.marker.data.text = `${this.marker.data.count} log line(s) dropped: the coordinator was unreachable and the buffer was full`;
      this.pendingBytes += sizeOf(this.marker);
    }
  }

  private kick(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.sending || this.stopped || this.pending.length === 0) return;
    this.sending = this.sendAll().finally(() => {
      this.sending = undefined;
    });
  }

  /** Sends batches until nothing is pending; events pushed meanwhile join the next batch. */
  private async sendAll(): Promise<void> {
    while (!this.stopped && this.pending.length) {
      const batch = this.pending.splice(0, this.batchLength());
      for (const event of batch) this.pendingBytes -= sizeOf(event);
      if (this.marker && batch.includes(this.marker)) this.marker = undefined;
      try {
        await this.opts.send(batch, randomUUID());
      } catch (error) {
        this.failure ??= error;
        this.stop();
      }
    }
  }
}
