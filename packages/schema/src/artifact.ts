import { z } from "zod";
import { JobId, ProductId, RunId } from "./primitives.js";

export const ArtifactName = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "must be a plain file name (letters, digits, . _ -)");

/** A pointer; the bytes live in the blob store. */
export const Artifact = z.object({
  _id: z.string(),
  productId: ProductId,
  jobId: JobId,
  runId: RunId,
  name: ArtifactName,
  contentType: z.string().max(200),
  size: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  uri: z.string(),
  createdAt: z.date(),
});
export type Artifact = z.infer<typeof Artifact>;

export const ARTIFACT_LIMITS = { maxBytes: 64 * 1024 * 1024 } as const;
