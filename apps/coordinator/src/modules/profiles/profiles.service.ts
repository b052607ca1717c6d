import type { Profile, ProfileSnapshot } from "@gigafactory/schema";
import { NotFoundError } from "../../errors.js";
import type { ProfilesRepository } from "./profiles.repository.js";

/** How many concurrent publishers one publish outlasts before giving up. */
const MAX_PUBLISH_TRIES = 10;

/** Publishing and reading profiles; a job pins the version it was created with. */
export class ProfilesService {
  constructor(private readonly repository: ProfilesRepository) {}

  /** Next version = newest + 1; a concurrent publisher that takes the same number makes us retry. */
  async publish(productId: string, name: string, snapshot: ProfileSnapshot): Promise<Profile> {
    for (let tries = 0; tries < MAX_PUBLISH_TRIES; tries++) {
      const latest = await this.repository.find(productId, name);
      const version = (latest?.version ?? 0) + 1;
      const profile: Profile = { productId, name, version, snapshot, createdAt: new Date() };
      if (await this.repository.insert(profile)) return profile;
    }
    throw new Error(`profile ${name}: too many concurrent publishes`);
  }

  find(productId: string, name: string, version?: number): Promise<Profile | null> {
    return this.repository.find(productId, name, version);
  }

  /** Like `find`, but NOT_FOUND when there is no such profile. */
  async get(productId: string, name: string, version?: number): Promise<Profile> {
    const profile = await this.repository.find(productId, name, version);
    if (!profile) throw new NotFoundError("profile", version ? `${name}@${version}` : name);
    return profile;
  }

  list(productId: string, name?: string): Promise<Profile[]> {
    return this.repository.list(productId, name);
  }
}
