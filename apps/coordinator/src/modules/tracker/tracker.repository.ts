import type { EchoState, Job } from "@gigafactory/schema";
import type { Collections } from "../../db/collections.js";
import { isDuplicateKey } from "../../db/collections.js";

/** What a webhook delivery asks for, decided when it arrived (the payload itself is not kept). */
export type DeliveryWork = { kind: "import" | "cancel"; ref: string; productId: string };

/**
 * One webhook delivery, stored once: `_id` is `github:<X-GitHub-Delivery>`, so a redelivery is a
 * duplicate key. `queued` until a coordinator ran its work, then `done` or `failed`.
 */
export interface DeliveryDoc {
  _id: string;
  event: string;
  work: DeliveryWork | null;
  status: "queued" | "done" | "failed" | "ignored";
  receivedAt: Date;
  /** A coordinator working on it holds it until then; after that any coordinator may. */
  lockedUntil: Date;
  attempts: number;
  error?: string;
}

/**
 * The echo outbox, one document per tracker job (`_id` is the job id): the state the tracker
 * should show (`wanted`), the last one it was sent (`echoed`) and when to try next (`due`, null
 * when nothing is owed). Any coordinator delivers it; a failure only moves `due` on.
 */
export interface EchoDoc {
  _id: string;
  productId: string;
  ref: string;
  wanted: EchoState | null;
  echoed: EchoState | null;
  due: Date | null;
  lockedUntil: Date;
  attempts: number;
  lastError?: string;
  echoedAt?: Date;
}

export class TrackerRepository {
  constructor(private readonly cols: Collections) {}

  /** Stores a delivery; false when its id was seen before (a redelivery). */
  async recordDelivery(doc: DeliveryDoc): Promise<boolean> {
    try {
      await this.cols.trackerDeliveries.insertOne(doc);
      return true;
    } catch (error) {
      if (isDuplicateKey(error)) return false;
      throw error;
    }
  }

  /** Takes one queued delivery (this one, or any whose holder's time ran out) until `until`. */
  takeDelivery(now: Date, until: Date, id?: string): Promise<DeliveryDoc | null> {
    return this.cols.trackerDeliveries.findOneAndUpdate(
      { ...(id ? { _id: id } : {}), status: "queued", lockedUntil: { $lte: now } },
      { $set: { lockedUntil: until }, $inc: { attempts: 1 } },
      { returnDocument: "after" },
    );
  }

  async finishDelivery(id: string, status: DeliveryDoc["status"], error?: string): Promise<void> {
    await this.cols.trackerDeliveries.updateOne({ _id: id }, { $set: { status, ...(error ? { error } : {}) } });
  }

  /** A queued delivery goes back to the queue at `retryAt` (its work failed for a passing reason). */
  async deferDelivery(id: string, retryAt: Date, error: string): Promise<void> {
    await this.cols.trackerDeliveries.updateOne(
      { _id: id, status: "queued" },
      { $set: { lockedUntil: retryAt, error } },
    );
  }

  findDelivery(id: string): Promise<DeliveryDoc | null> {
    return this.cols.trackerDeliveries.findOne({ _id: id });
  }

  /**
   * Tracker jobs of these products whose stage maps to a state the item does not show yet
   * (`trackerEchoed`): the outbox is derived from the jobs themselves, so a stage change made by
   * any coordinator, while any other was down, is still owed. Index `jobs.tracker_echo`.
   */
  owingEcho(productIds: readonly string[], limit: number): Promise<Job[]> {
    // newest changes first: echoes given up long ago cannot crowd out fresh ones
    return this.cols.jobs
      .find({
        productId: { $in: [...productIds] },
        trackerItemId: { $exists: true },
        $or: [
          { stage: { $in: ["building", "review", "testing"] }, trackerEchoed: { $ne: "in_progress" } },
          { stage: "shipped", trackerEchoed: { $ne: "done" } },
          { stage: "failed", trackerEchoed: { $ne: "blocked" } },
        ],
      })
      .sort({ updatedAt: -1 })
      .limit(limit)
      .toArray();
  }

  findEcho(jobId: string): Promise<EchoDoc | null> {
    return this.cols.trackerEchoes.findOne({ _id: jobId });
  }

  /** Owes the tracker `wanted` unless it was the last state echoed (then nothing is owed). */
  async want(job: { _id: string; productId: string; ref: string }, wanted: EchoState, now: Date): Promise<void> {
    await this.cols.trackerEchoes.updateOne(
      { _id: job._id },
      { $setOnInsert: { productId: job.productId, ref: job.ref, echoed: null, lockedUntil: new Date(0), attempts: 0 } },
      { upsert: true },
    );
    await this.cols.trackerEchoes.updateOne(
      { _id: job._id, echoed: { $ne: wanted }, wanted: { $ne: wanted } },
      { $set: { wanted, due: now, attempts: 0 } },
    );
  }

  /** Takes one owed echo until `until`. */
  takeDueEcho(now: Date, until: Date): Promise<EchoDoc | null> {
    return this.cols.trackerEchoes.findOneAndUpdate(
      { due: { $ne: null, $lte: now }, lockedUntil: { $lte: now } },
      { $set: { lockedUntil: until } },
      { returnDocument: "after" },
    );
  }

  /**
   * Records a sent echo: on the outbox (nothing owed unless `wanted` moved meanwhile) and on the
   * job (`trackerEchoed`, shown by status and `gf job`).
   */
  async echoed(doc: { _id: string; productId: string; ref: string }, state: EchoState, now: Date): Promise<void> {
    await this.cols.trackerEchoes.updateOne(
      { _id: doc._id },
      {
        $set: { echoed: state, echoedAt: now, lockedUntil: new Date(0), attempts: 0 },
        $setOnInsert: { productId: doc.productId, ref: doc.ref, wanted: state, due: null },
        $unset: { lastError: "" },
      },
      { upsert: true },
    );
    await this.cols.trackerEchoes.updateOne({ _id: doc._id, wanted: state }, { $set: { due: null } });
    await this.cols.jobs.updateOne({ _id: doc._id, productId: doc.productId }, { $set: { trackerEchoed: state } });
  }

  /** A failed echo: tried again at `retryAt`, or given up (`due` null) after the last attempt. */
  async echoFailed(id: string, error: string, retryAt: Date | null): Promise<void> {
    await this.cols.trackerEchoes.updateOne(
      { _id: id },
      { $set: { lastError: error, due: retryAt, lockedUntil: new Date(0) }, $inc: { attempts: 1 } },
    );
  }
}
