import type { Factory, FactoryHealth, FactoryLoad, FactoryState, RegisterInput } from "@gigafactory/schema";
import type { Collections } from "../../db/collections.js";
import { compoundKey } from "../../db/keys.js";

export class FactoriesRepository {
  constructor(private readonly cols: Collections) {}

  /** One document per product and factory id; ids may hold `:`, so the key is a {@link compoundKey}. */
  static key(productId: string, factoryId: string): string {
    return compoundKey(productId, factoryId);
  }

  find(productId: string, factoryId: string): Promise<Factory | null> {
    return this.cols.factories.findOne({ _id: FactoriesRepository.key(productId, factoryId) });
  }

  /** Register is an upsert: a restarted factory keeps its id and becomes active again. */
  upsert(productId: string, input: RegisterInput, now: Date): Promise<Factory | null> {
    return this.cols.factories.findOneAndUpdate(
      { _id: FactoriesRepository.key(productId, input.factoryId) },
      {
        $set: {
          productId,
          factoryId: input.factoryId,
          descriptor: input.descriptor,
          capabilities: input.capabilities,
          engines: input.engines,
          seatLimit: input.seatLimit,
          state: "active",
          lastHeartbeatAt: now,
          load: { running: 0, jobIds: [] },
          health: { ok: true },
        },
        $setOnInsert: { registeredAt: now },
      },
      { upsert: true, returnDocument: "after" },
    );
  }

  heartbeat(
    productId: string,
    factoryId: string,
    load: FactoryLoad,
    health: FactoryHealth,
    now: Date,
  ): Promise<Factory | null> {
    return this.cols.factories.findOneAndUpdate(
      { _id: FactoriesRepository.key(productId, factoryId) },
      { $set: { load, health, lastHeartbeatAt: now } },
      { returnDocument: "after" },
    );
  }

  setState(productId: string, factoryId: string, state: FactoryState): Promise<Factory | null> {
    return this.cols.factories.findOneAndUpdate(
      { _id: FactoriesRepository.key(productId, factoryId) },
      { $set: { state } },
      { returnDocument: "after" },
    );
  }

  list(productId: string): Promise<Factory[]> {
    return this.cols.factories.find({ productId }).sort({ factoryId: 1 }).toArray();
  }

  /** Factories whose heartbeat stopped are `gone`; they revive on their next heartbeat. */
  async markGone(before: Date): Promise<number> {
    const result = await this.cols.factories.updateMany(
      { state: { $ne: "gone" }, lastHeartbeatAt: { $lt: before } },
      { $set: { state: "gone" } },
    );
    return result.modifiedCount;
  }
}
