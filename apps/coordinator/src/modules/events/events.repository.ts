import type { EventType, Job, JobEvent, Lease } from "@gigafactory/schema";
import type { Filter, ObjectId } from "mongodb";
import { type Collections, type EventDoc, isDuplicateKey } from "../../db/collections.js";
import { failpoint } from "../../failpoints.js";
import { type Fence, type JobFields, fenceFilter } from "../jobs/jobs.repository.js";

/** An event as a writer hands it over; the seq, epoch and job come from the job document. */
export type EventInput = { type: EventType; data: Record<string, unknown>; at?: Date | undefined };

/** One write recorded on a lease by its request id (see `Lease.applied`). */
export type AppliedWrite = NonNullable<Lease["applied"]>[number];

/** How many request ids a lease keeps: a retry comes before the writer's next write, so a few suffice. */
export const APPLIED_KEPT = 32;

/** Compare-and-set rounds of an idempotent append before giving up (each round lost to another writer). */
const APPLY_ONCE_ROUNDS = 20;

/** An idempotent write's request id, what it stores (`ref`) and job fields it sets with its seqs. */
export interface WriteOnce {
  requestId: string;
  ref?: string | undefined;
  set?: JobFields | undefined;
}

/** The events of `job` from seq `first` on, as stored. */
function eventDocs(
  job: Pick<Job, "_id" | "productId"> & { lease: Pick<Lease, "epoch"> },
  first: number,
  events: EventInput[],
): JobEvent[] {
  const now = new Date();
  return events.map((event, index) => ({
    productId: job.productId,
    jobId: job._id,
    seq: first + index,
    epoch: job.lease.epoch,
    type: event.type,
    at: event.at ?? now,
    data: event.data,
  }));
}

/** The append-only `events` collection. `seq` is reserved on the job document so it never has gaps or twins. */
export class EventsRepository {
  constructor(private readonly cols: Collections) {}

  /**
   * Reserves one sequence number per event on the job while `fence` holds it, and inserts the
   * events. Returns null when the fence no longer holds, so a fenced write changes nothing.
   *
   * With `once` the write is idempotent: the reservation also records `once.requestId` on the
   * lease (`lease.applied`, the last {@link APPLIED_KEPT}), in the same update, and a retry with
   * that id reserves nothing more: it writes the same events at the seqs the first try reserved
   * (those already there are kept) and is answered with them (`replay`). `once.set` are job fields
   * set in that same update (a checkpoint); `once.ref` is kept with the id (an artifact's id).
   */
  async appendFenced(
    fence: Fence,
    events: EventInput[],
    once?: WriteOnce,
  ): Promise<{ events: JobEvent[]; applied?: AppliedWrite; replay: boolean } | null> {
    if (once) return this.appendOnce(fence, events, once);
    const job = await this.cols.jobs.findOneAndUpdate(
      fenceFilter(fence),
      { $inc: { eventSeq: events.length } },
      { returnDocument: "after", projection: { _id: 1, productId: 1, eventSeq: 1, "lease.epoch": 1 } },
    );
    if (!job) return null;
    failpoint("append.afterReserve");
    const docs = eventDocs(job, job.eventSeq - events.length + 1, events);
    // insertMany mutates its input with _id; keep the returned events plain
    await this.cols.events.insertMany(
      docs.map((doc) => ({ ...doc })),
      { ordered: true },
    );
    return { events: docs, replay: false };
  }

  /**
   * {@link appendFenced} with a request id: the seqs are reserved by a compare-and-set on
   * `eventSeq` (the first seq must be known to record it with the id), retried while other writes
   * move `eventSeq` in between.
   */
  private async appendOnce(
    fence: Fence,
    events: EventInput[],
    once: WriteOnce,
  ): Promise<{ events: JobEvent[]; applied: AppliedWrite; replay: boolean } | null> {
    for (let round = 0; round < APPLY_ONCE_ROUNDS; round++) {
      const held = await this.cols.jobs.findOne(fenceFilter(fence), {
        projection: { _id: 1, productId: 1, eventSeq: 1, "lease.epoch": 1, "lease.applied": 1 },
      });
      if (!held) return null;
      const known = held.lease.applied?.find((write) => write.id === once.requestId);
      if (known) {
        const docs = eventDocs(held, known.firstSeq, events.slice(0, known.count));
        // the first try may have died between reserving and writing them
        await this.insertMissing(docs);
        return { events: docs, applied: known, replay: true };
      }
      const applied: AppliedWrite = {
        id: once.requestId,
        firstSeq: held.eventSeq + 1,
        count: events.length,
        ...(once.ref ? { ref: once.ref } : {}),
      };
      const job = await this.cols.jobs.findOneAndUpdate(
        { ...fenceFilter(fence), eventSeq: held.eventSeq, "lease.applied.id": { $ne: once.requestId } },
        {
          $set: { eventSeq: held.eventSeq + events.length, ...once.set },
          $push: { "lease.applied": { $each: [applied], $slice: -APPLIED_KEPT } },
        },
        { returnDocument: "after", projection: { _id: 1, productId: 1, eventSeq: 1, "lease.epoch": 1 } },
      );
      if (!job) continue; // fenced meanwhile, or another write reserved seqs: read again
      failpoint("append.afterReserve");
      const docs = eventDocs(job, applied.firstSeq, events);
      await this.cols.events.insertMany(
        docs.map((doc) => ({ ...doc })),
        { ordered: true },
      );
      return { events: docs, applied, replay: false };
    }
    throw new Error(`job ${fence.jobId}: event seqs kept moving for ${APPLY_ONCE_ROUNDS} rounds`);
  }

  /**
   * Inserts those of `docs` not stored yet (their seqs are reserved; a twin is a duplicate key).
   * Returns whether all of them were missing (none was stored before).
   */
  private async insertMissing(docs: JobEvent[]): Promise<boolean> {
    let complete = true;
    for (const doc of docs) {
      try {
        await this.cols.events.insertOne({ ...doc });
      } catch (error) {
        if (!isDuplicateKey(error)) throw error;
        complete = false;
      }
    }
    return complete;
  }

  /**
   * {@link insertAt} for several jobs in one round trip (a multi-seat claim's `claimed` events).
   * Unordered: one that fails does not keep the others out, and the call throws.
   */
  async insertAtEach(
    items: Array<{
      job: Pick<Job, "_id" | "productId" | "eventSeq" | "lease">;
      event: { type: EventType; data: Record<string, unknown> };
    }>,
  ): Promise<JobEvent[]> {
    const at = new Date();
    const docs: JobEvent[] = items.map(({ job, event }) => ({
      productId: job.productId,
      jobId: job._id,
      seq: job.eventSeq,
      epoch: job.lease.epoch,
      type: event.type,
      at,
      data: event.data,
    }));
    // insertMany mutates its input with _id; keep the returned events plain
    if (docs.length === 1 && docs[0]) await this.cols.events.insertOne({ ...docs[0] });
    else if (docs.length)
      await this.cols.events.insertMany(
        docs.map((doc) => ({ ...doc })),
        { ordered: false },
      );
    return docs;
  }

  /** Inserts one event at the seq an earlier update reserved (`job.eventSeq`). */
  async insertAt(
    job: Pick<Job, "_id" | "productId" | "eventSeq" | "lease">,
    event: { type: EventType; data: Record<string, unknown> },
  ): Promise<JobEvent> {
    const [doc] = await this.insertAtEach([{ job, event }]);
    if (!doc) throw new Error(`job ${job._id}: no event written`);
    return doc;
  }

  /** The seqs from 1 to `upTo` with no event: reserved by an update whose writer died before writing them. */
  async holes(jobId: string, upTo: number): Promise<number[]> {
    if (upTo <= 0) return [];
    const range = { jobId, seq: { $gte: 1, $lte: upTo } };
    // the usual answer (no hole) costs a count on the (jobId, seq) index
    if ((await this.cols.events.countDocuments(range)) >= upTo) return [];
    const stored = new Set(
      (await this.cols.events.find(range, { projection: { _id: 0, seq: 1 } }).toArray()).map((doc) => doc.seq),
    );
    const missing: number[] = [];
    for (let seq = 1; seq <= upTo; seq++) if (!stored.has(seq)) missing.push(seq);
    return missing;
  }

  /** The lowest seq of the job's events written at `epoch`, or null when there is none. */
  async firstSeqOfEpoch(jobId: string, epoch: number): Promise<number | null> {
    const first = await this.cols.events.findOne(
      { jobId, epoch },
      { sort: { seq: 1 }, projection: { _id: 0, seq: 1 } },
    );
    return first?.seq ?? null;
  }

  /** Writes `event` at the reserved `seq` unless an event is there already; returns it when written. */
  async fill(
    job: Pick<Job, "_id" | "productId"> & { lease: Pick<Lease, "epoch"> },
    seq: number,
    event: EventInput,
  ): Promise<JobEvent | null> {
    const [doc] = eventDocs(job, seq, [event]);
    if (!doc) return null;
    return (await this.insertMissing([doc])) ? doc : null;
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
