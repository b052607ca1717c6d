import type { JobEvent } from "@gigafactory/schema";
import { ObjectId } from "mongodb";
import type { TailedEvent } from "../modules/events/event-tail.js";

/** An ObjectId with the given timestamp (seconds), writer and counter, as a writer's driver would make it. */
export function objectIdAt(seconds: number, counter: number, writer = "aaaaaaaaaa"): ObjectId {
  return new ObjectId(
    `${seconds.toString(16).padStart(8, "0")}${writer}${counter.toString(16).padStart(6, "0")}`.slice(0, 24),
  );
}

/**
 * The `events` collection for the streams' and notifier's unit tests: events inserted with the
 * `_id` a test picks (so a test can land one "late", below a newer one), read in `_id` order.
 */
export class FakeEvents {
  readonly docs: TailedEvent[] = [];
  /** Reads made so far. */
  reads = 0;
  /** While set, reads wait on it (a hung query). */
  hang: Promise<never> | undefined;

  insert(_id: ObjectId, event: JobEvent): TailedEvent {
    const doc = { ...event, _id };
    this.docs.push(doc);
    return doc;
  }

  async tailAfter(after: ObjectId, limit: number, opts: { productId?: string | undefined } = {}) {
    this.reads++;
    if (this.hang) await this.hang;
    return this.docs
      .filter((doc) => doc._id.toHexString() > after.toHexString())
      .filter((doc) => !opts.productId || doc.productId === opts.productId)
      .sort((a, b) => (a._id.toHexString() < b._id.toHexString() ? -1 : 1))
      .slice(0, limit)
      .map((doc) => ({ ...doc }));
  }

  async newestId(opts: { productId?: string | undefined } = {}): Promise<ObjectId | null> {
    const [newest] = await this.tailAfter(new ObjectId("000000000000000000000000"), Number.MAX_SAFE_INTEGER, opts).then(
      (docs) => docs.reverse(),
    );
    return newest?._id ?? null;
  }
}
