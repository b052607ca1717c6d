import type { Policy } from "@gigafactory/schema";
import type { Collections } from "../../db/collections.js";

/** One policy per product (`_id` is the product id); each set replaces it and bumps `version`. */
export class PolicyRepository {
  constructor(private readonly cols: Collections) {}

  async find(productId: string): Promise<Policy | null> {
    const doc = await this.cols.policies.findOne({ _id: productId });
    if (!doc) return null;
    const { _id, ...policy } = doc;
    return policy;
  }

  /** Products whose policy turns automatic echoes on. */
  async autoEchoProducts(): Promise<string[]> {
    const docs = await this.cols.policies.find({ autoEcho: true }, { projection: { _id: 1 } }).toArray();
    return docs.map((doc) => doc._id);
  }

  async replace(policy: Omit<Policy, "version">): Promise<Policy> {
    const doc = await this.cols.policies.findOneAndUpdate(
      { _id: policy.productId },
      { $set: policy, $inc: { version: 1 } },
      { upsert: true, returnDocument: "after" },
    );
    if (!doc) throw new Error(`policy of ${policy.productId} vanished while it was set`);
    const { _id, ...stored } = doc;
    return stored;
  }
}
