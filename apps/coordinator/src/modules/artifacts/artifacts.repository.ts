import type { Artifact } from "@gigafactory/schema";
import { type Collections, isDuplicateKey } from "../../db/collections.js";

/** The `artifacts` collection: metadata only; the bytes live in the blob store. */
export class ArtifactsRepository {
  constructor(private readonly cols: Collections) {}

  /** Stores `artifact` unless one with its id is stored already (a retried upload); returns the stored one. */
  async insertOnce(artifact: Artifact): Promise<Artifact> {
    try {
      await this.cols.artifacts.insertOne({ ...artifact });
      return artifact;
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
      return (await this.find(artifact.productId, artifact._id)) ?? artifact;
    }
  }

  find(productId: string, artifactId: string): Promise<Artifact | null> {
    return this.cols.artifacts.findOne({ _id: artifactId, productId });
  }

  /** A job's artifacts, oldest first (index `by_job`). */
  forJob(productId: string, jobId: string): Promise<Artifact[]> {
    return this.cols.artifacts.find({ productId, jobId }).sort({ createdAt: 1 }).toArray();
  }

  /** Which of these blob uris some artifact points to (the blob sweep keeps those). */
  async referencedUris(uris: string[]): Promise<Set<string>> {
    return new Set(await this.cols.artifacts.distinct("uri", { uri: { $in: uris } }));
  }
}
