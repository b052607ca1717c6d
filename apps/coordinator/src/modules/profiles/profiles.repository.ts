import type { Profile } from "@gigafactory/schema";
import type { Collections, ProfileDoc } from "../../db/collections.js";
import { isDuplicateKey } from "../../db/collections.js";
import { compoundKey } from "../../db/keys.js";

/** A profile version's document id (product, name and version: a {@link compoundKey}). */
export function profileId(profile: Pick<Profile, "productId" | "name" | "version">): string {
  return compoundKey(profile.productId, profile.name, String(profile.version));
}

/** The `profiles` collection. Profiles are insert-only: publishing a change makes a new version. */
export class ProfilesRepository {
  constructor(private readonly cols: Collections) {}

  /** The given version, or the newest when none is given. */
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

  /** Inserts one version; false when that version already exists (a concurrent publisher took it). */
  async insert(profile: Profile): Promise<boolean> {
    const doc: ProfileDoc = { _id: profileId(profile), ...profile };
    try {
      await this.cols.profiles.insertOne(doc);
      return true;
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
      return false;
    }
  }
}
