import type { Factory, FactoryHealth, FactoryLoad, FactoryState, RegisterInput } from "@gigafactory/schema";
import { type Collections, isDuplicateKey } from "../../db/collections.js";
import { compoundKey } from "../../db/keys.js";

/** Who a factory is bound to, as read: whether it exists, its token's id, whether it was revoked. */
export interface FactoryBinding {
  exists: boolean;
  tokenId: string | undefined;
  revoked: boolean;
}

export function bindingOf(factory: Factory | null): FactoryBinding {
  return { exists: factory !== null, tokenId: factory?.tokenId, revoked: factory?.revokedAt !== undefined };
}

export class FactoriesRepository {
  constructor(private readonly cols: Collections) {}

  /** One document per product and factory id; ids may hold `:`, so the key is a {@link compoundKey}. */
  static key(productId: string, factoryId: string): string {
    return compoundKey(productId, factoryId);
  }

  find(productId: string, factoryId: string): Promise<Factory | null> {
    return this.cols.factories.findOne({ _id: FactoriesRepository.key(productId, factoryId) });
  }

  /**
   * Register is an upsert that binds the factory to `tokenId`: a restarted factory keeps its id and
   * becomes active again. Applied only while the binding is still `expected` (as read before), so two
   * tokens racing for one id cannot both win; null when it changed meanwhile.
   */
  async register(
    productId: string,
    input: RegisterInput,
    tokenId: string,
    expected: FactoryBinding,
    now: Date,
  ): Promise<Factory | null> {
    const _id = FactoriesRepository.key(productId, input.factoryId);
    try {
      return await this.cols.factories.findOneAndUpdate(
        {
          _id,
          tokenId: expected.tokenId ?? { $exists: false },
          revokedAt: expected.revoked ? { $exists: true } : { $exists: false },
        },
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
            tokenId,
          },
          $unset: { revokedAt: "" },
          $setOnInsert: { registeredAt: now },
        },
        // only a factory that did not exist is inserted; a changed binding must not upsert a twin
        { upsert: !expected.exists, returnDocument: "after" },
      );
    } catch (error) {
      if (isDuplicateKey(error)) return null; // another register inserted it first
      throw error;
    }
  }

  /** Marks the factory `gone` and its binding revoked; null when there is no such factory. */
  revoke(productId: string, factoryId: string, now: Date): Promise<Factory | null> {
    return this.cols.factories.findOneAndUpdate(
      { _id: FactoriesRepository.key(productId, factoryId) },
      { $set: { state: "gone", revokedAt: now } },
      { returnDocument: "after" },
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
