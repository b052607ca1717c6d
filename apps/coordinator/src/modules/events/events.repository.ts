import type { EventType, Job, JobEvent, NewEvent } from "@gigafactory/schema";
import type { Filter, ObjectId } from "mongodb";
import type { Collections, EventDoc } from "../../db/collections.js";
import { type Fence, fenceFilter } from "../jobs/jobs.repository.js";

/** The append-only `events` collection. `seq` is reserved on the job document so it never has gaps or twins. */
export class EventsRepository {
  constructor(private readonly cols: Collections) {}

  /**
   * Reserves one sequence number per event on the job while `fence` holds it, and inserts the
   * events. Returns null when the fence no longer holds, so a fenced write changes nothing.
   */
  async appendFenced(
    fence: Fence,
    events: Array<Pick<NewEvent, "data"> & { type: EventType; at?: Date | undefined }>,
  ): Promise<JobEvent[] | null> {
    const job = await this.cols.jobs.findOneAndUpdate(
      fenceFilter(fence),
      { $inc: { eventSeq: events.length } },
      { returnDocument: "after", projection: { _id: 1, productId: 1, eventSeq: 1, "lease.epoch": 1 } },
    );
    if (!job) return null;
    const first = job.eventSeq - events.length + 1;
    const now = new Date();
    const docs: JobEvent[] = events.map((event, index) => ({
      productId: job.productId,
      jobId: job._id,
      seq: first + index,
      epoch: job.lease.epoch,
      type: event.type,
      at: event.at ?? now,
      data: event.data,
    }));
    // insertMany mutates its input with _id; keep the returned events plain
    await this.cols.events.insertMany(
      docs.map((doc) => ({ ...doc })),
      { ordered: true },
    );
    return docs;
  }

  /** Inserts one event at the seq an earlier update reserved (`job.eventSeq`). */
  async insertAt(
    job: Pick<Job, "_id" | "productId" | "eventSeq" | "lease">,
    event: { type: EventType; data: Record<string, unknown> },
  ): Promise<JobEvent> {
    const doc: JobEvent = {
      productId: job.productId,
      jobId: job._id,
      seq: job.eventSeq,
      epoch: job.lease.epoch,
      type: event.type,
      at: new Date(),
      data: event.data,
    };
    await this.cols.events.insertOne({ ...doc });
    return doc;
  }

  async page(jobId: string, afterSeq: number, limit: number): Promise<JobEvent[]> {
    const docs = await this.cols.events
      .find({ jobId, seq: { $gt: afterSeq } }, { projection: { _id: 0 } })
      .sort({ seq: 1 })
      .limit(limit)
      .toArray();
    return docs as JobEvent[];
  }

  /** Events written at or after `from` (by any coordinator), oldest first: the notifier's tail. */
  eventsFrom(from: ObjectId, limit: number): Promise<EventDoc[]> {
    return this.cols.events
      .find({ _id: { $gte: from } })
      .sort({ _id: 1 })
      .limit(limit)
      .toArray();
  }

  /**
   * Events with an `_id` above `after` (of one product, or all), oldest `_id` first: a page of the
   * tail that the notifier and `jobs.feed` read. The server gives up after `maxTimeMs`.
   */
  tailAfter(
    after: ObjectId,
    limit: number,
    opts: { productId?: string | undefined; maxTimeMs: number },
  ): Promise<Array<EventDoc & { _id: ObjectId }>> {
    const filter: Filter<EventDoc> = { _id: { $gt: after }, ...(opts.productId ? { productId: opts.productId } : {}) };
    return this.cols.events.find(filter).sort({ _id: 1 }).limit(limit).maxTimeMS(opts.maxTimeMs).toArray() as Promise<
      Array<EventDoc & { _id: ObjectId }>
    >;
  }

  /** The `_id` of the newest event (of one product, or all), or null when there is none. */
  async newestId(opts: { productId?: string | undefined; maxTimeMs: number }): Promise<ObjectId | null> {
    const filter: Filter<EventDoc> = opts.productId ? { productId: opts.productId } : {};
    const [doc] = await this.cols.events
      .find(filter, { projection: { _id: 1 } })
      .sort({ _id: -1 })
      .limit(1)
      .maxTimeMS(opts.maxTimeMs)
      .toArray();
    return doc?._id ?? null;
  }

  /** @deprecated the notifier's former query; use {@link eventsFrom}. */
  async since(filter: Filter<EventDoc>, limit: number): Promise<EventDoc[]> {
    return this.cols.events.find(filter).sort({ _id: 1 }).limit(limit).toArray();
  }
}
