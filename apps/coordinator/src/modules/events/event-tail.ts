import type { JobEvent } from "@gigafactory/schema";
import { ObjectId } from "mongodb";

/** An event as the tail reads it: with the `_id` its writer gave it. */
export type TailedEvent = JobEvent & { _id: ObjectId };

/** One page of events with an `_id` above `after`, oldest `_id` first (the events repository). */
export type TailPage = (after: ObjectId, limit: number) => Promise<TailedEvent[]>;

export interface EventTailOptions {
  /** The most events one read takes; a full page is followed by the next one at once. */
  pageSize: number;
  /** How far below the newest `_id` seen each pass starts again (in the ObjectIds' own seconds). */
  lookBackMs: number;
}

const LOWEST = new ObjectId("000000000000000000000000");

/**
 * Follows the `events` collection in `_id` order, each event once. ObjectIds are made by each
 * writer's driver, so an event can land after a newer `_id` has been read (concurrent inserts, or
 * another coordinator's clock a little behind). Each pass therefore starts again `lookBackMs` below
 * the newest `_id` seen — a window computed from the ObjectIds themselves, never from this
 * process's clock — and pages through to the end, a full page included, skipping what it sent.
 * What it remembers is the window only: ids below it are never read again.
 */
export class EventTail {
  private newest: ObjectId | undefined;
  /** Events at or below this `_id` count as sent (where a subscriber starts or resumes). */
  private skipUpTo: ObjectId | undefined;
  private readonly sent = new Map<string, ObjectId>();

  constructor(
    private readonly page: TailPage,
    private readonly opts: EventTailOptions,
  ) {}

  /** Starts after `id`: events at or below it are not sent (a resume point, or "now"). */
  startAfter(id: ObjectId | null): void {
    this.newest = id ?? undefined;
    this.skipUpTo = id ?? undefined;
  }

  /** How many sent events are remembered (the look-back window's). */
  get remembered(): number {
    return this.sent.size;
  }

  /** The `_id`s a pass reads from: the look-back below the newest seen. */
  private floor(): ObjectId {
    if (!this.newest) return LOWEST;
    const seconds = Math.floor((this.newest.getTimestamp().getTime() - this.opts.lookBackMs) / 1000);
    return ObjectId.createFromTime(Math.max(seconds, 0));
  }

  /**
   * One pass: every event not sent yet, in `_id` order. `current` says whether the pass is still
   * wanted (a pass given up on, for example after a time-out, stops without changing anything).
   */
  async *pass(current: () => boolean = () => true): AsyncGenerator<TailedEvent> {
    let after = this.floor();
    for (;;) {
      const docs = await this.page(after, this.opts.pageSize);
      if (!current()) return;
      for (const doc of docs) {
        const key = doc._id.toHexString();
        if (this.sent.has(key) || (this.skipUpTo && !above(doc._id, this.skipUpTo))) continue;
        this.sent.set(key, doc._id);
        if (!this.newest || above(doc._id, this.newest)) this.newest = doc._id;
        yield doc;
        if (!current()) return;
      }
      const last = docs.at(-1);
      if (docs.length < this.opts.pageSize || !last) break;
      after = last._id;
    }
    this.forgetBelow(this.floor());
  }

  private forgetBelow(floor: ObjectId): void {
    for (const [key, id] of this.sent) if (!above(id, floor)) this.sent.delete(key);
    if (this.skipUpTo && !above(this.skipUpTo, floor)) this.skipUpTo = undefined;
  }
}

/** Whether ObjectId `a` sorts after `b` (as MongoDB orders them: their bytes, i.e. their hex). */
function above(a: ObjectId, b: ObjectId): boolean {
  return a.toHexString() > b.toHexString();
}
