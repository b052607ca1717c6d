import type { Profile, ProfileSnapshot } from "@gigafactory/schema";
import type { Collections, ProfileDoc } from "../../db/collections.js";
import { isDuplicateKey } from "../../db/collections.js";

/** Profiles are insert-only: publishing a change makes a new version. */
export class ProfilesRepository {
  constructor(private readonly cols: Collections) {}

  async find(productId: string, name: string, version?: number): Promise<Profile | null> {
    const filter = version === undefined ? { productId, name } : { productId, name, version };
    const [doc] = await this.cols.profiles
      .find(filter, { projection: { _id: 0 } })
      .sort({ version: -1 })
      .limit(1)
      .toArray();
    return (doc as Profile | undefined) ?? null;
  }

  async list(productId: string, name?: string): Promise<Profile[]> {
    const docs = await this.cols.profiles
      .find(name ? { productId, name } : { productId }, { projection: { _id: 0 } })
      .sort({ name: 1, version: -1 })
      .limit(1_000)
      .toArray();
    return docs as Profile[];
  }

  /** Next version = newest + 1; a concurrent publisher that takes the same number makes us retry. */
  async publish(productId: string, name: string, snapshot: ProfileSnapshot): Promise<Profile> {
    for (let tries = 0; tries < 10; tries++) {
      const latest = await this.find(productId, name);
      const version = (latest?.version ?? 0) + 1;
      const profile: Profile = { productId, name, version, snapshot, createdAt: new Date() };
      const doc: ProfileDoc = { _id: `${productId}:${name}@${version}`, ...profile };
      try {
        await this.cols.profiles.insertOne(doc);
        return profile;
      } catch (error) {
        if (!isDuplicateKey(error)) throw error;
      }
    }
    throw new Error(`profile ${name}: too many concurrent publishes`);
  }
}
