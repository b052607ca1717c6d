import { z } from "zod";
import { JOB_LIMITS, VerifyCommand } from "./job.js";
import { Capability, EngineId, ProductId } from "./primitives.js";

/** A repository pattern: `*` matches any run of characters (`github.com/acme/*`). */
export const RepoPattern = z.string().min(1).max(1_000);

/** Quality rail: verify gates always added to a job whose repo or labels match. */
export const MandatoryGate = z
  .object({
    name: z.string().min(1).max(100),
    repos: z.array(RepoPattern).max(100).default([]),
    labels: z.array(z.string().min(1).max(100)).max(100).default([]),
    verify: z.array(VerifyCommand).min(1).max(JOB_LIMITS.maxVerify),
  })
  .strict();
export type MandatoryGate = z.infer<typeof MandatoryGate>;

/**
 * A product's guard rails (what a job may ask for; absent = anything) and quality rails (gates
 * always added), set by an admin with `admin.setPolicy`. `autoEcho` turns on echoing job stages
 * to the tracker for the product's tracker jobs.
 */
export const PolicyInput = z
  .object({
    engines: z.array(EngineId).max(100).optional(),
    capabilities: z.array(Capability).max(200).optional(),
    repos: z.array(RepoPattern).max(100).optional(),
    maxTimeoutMs: z.number().int().positive().max(JOB_LIMITS.maxTimeoutMs).optional(),
    maxAttempts: z.number().int().positive().max(JOB_LIMITS.maxAttempts).optional(),
    maxCostUsd: z.number().positive().optional(),
    gates: z.array(MandatoryGate).max(50).default([]),
    autoEcho: z.boolean().default(false),
  })
  .strict();
export type PolicyInput = z.input<typeof PolicyInput>;

export const Policy = PolicyInput.extend({
  productId: ProductId,
  version: z.number().int().positive(),
  updatedAt: z.date(),
});
export type Policy = z.infer<typeof Policy>;

export const SetPolicyInput = z.object({ productId: ProductId.optional(), policy: PolicyInput }).strict();
export const ShowPolicyInput = z.object({ productId: ProductId.optional() }).strict();
