import { z } from "zod";
import { FactoryId, JobId, Name, ProductId, Role } from "../primitives.js";
import { ProfileSnapshot } from "../profile.js";
import { Stage } from "../stages.js";

export const DrainInput = z.object({ factoryId: FactoryId }).strict();
/** Revokes one factory: it is `gone` and its token can no longer act as it. */
export const FactoryRevokeInput = z.object({ factoryId: FactoryId }).strict();
export const RequeueInput = z.object({ jobId: JobId }).strict();
export const ProductScope = z.object({ productId: ProductId.optional() }).strict();

export const InsightsInput = z
  .object({
    productId: ProductId.optional(),
    since: z.coerce.date().optional(),
  })
  .strict();

const Totals = z.object({
  runs: z.number().int(),
  tokensIn: z.number(),
  tokensOut: z.number(),
  tokensCached: z.number(),
  costUsd: z.number(),
});

export const InsightsOutput = z.object({
  jobsByStage: z.partialRecord(Stage, z.number().int()),
  runsByResult: z.record(z.string(), z.number().int()),
  /** Successful runs over finished runs (released runs excluded); null with no runs. */
  successRate: z.number().min(0).max(1).nullable(),
  durationMs: z.object({ p50: z.number().nullable(), p95: z.number().nullable() }),
  byEngine: z.array(Totals.extend({ engine: z.string() })),
  byProfile: z.array(Totals.extend({ profile: z.string() })),
});
export type InsightsOutput = z.infer<typeof InsightsOutput>;

export const TokenCreateInput = z
  .object({
    role: Role,
    /** Admins may name any product; defaults to the caller's. */
    productId: ProductId.optional(),
    name: z.string().max(200).optional(),
  })
  .strict();
export const TokenCreateOutput = z.object({ token: z.string(), role: Role, productId: ProductId });

/** A token as listed: its id is the sha-256 of the secret, which is never stored. */
export const TokenInfo = z.object({
  tokenId: z.string(),
  role: Role,
  productId: ProductId,
  name: z.string().optional(),
  createdAt: z.date(),
  revokedAt: z.date().optional(),
});
export type TokenInfo = z.infer<typeof TokenInfo>;
export const TokenRevokeInput = z
  .object({
    tokenId: z.string().regex(/^[0-9a-f]{64}$/, "must be a token id (sha-256 hex)"),
    productId: ProductId.optional(),
  })
  .strict();

export const ProfilePublishInput = z.object({ name: Name, snapshot: ProfileSnapshot }).strict();
export type ProfilePublishInput = z.infer<typeof ProfilePublishInput>;
export const ProfileGetInput = z.object({ name: Name, version: z.number().int().positive().optional() }).strict();
export const ProfileListInput = z.object({ name: Name.optional() }).strict();
