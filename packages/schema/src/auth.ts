import { z } from "zod";
import { Epoch, JobId, Name, ProductId, Role } from "./primitives.js";

/** Only the sha-256 of a bearer token is stored. */
export const Token = z.object({
  _id: z.string().regex(/^[0-9a-f]{64}$/, "must be a sha-256 hex digest"),
  role: Role,
  productId: ProductId,
  name: z.string().max(200).optional(),
  createdAt: z.date(),
  revokedAt: z.date().optional(),
});
export type Token = z.infer<typeof Token>;

/** A named mutex held by one job; `_id` is unique per product and name (the coordinator's `lockId`). */
export const Lock = z.object({
  _id: z.string(),
  productId: ProductId,
  name: Name,
  jobId: JobId,
  epoch: Epoch,
  acquiredAt: z.date(),
});
export type Lock = z.infer<typeof Lock>;
