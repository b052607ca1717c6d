import { z } from "zod";
import { EngineId, Name, ProductId } from "./primitives.js";

/** What a profile pins for a job: persona and engine defaults. */
export const ProfileSnapshot = z.object({
  persona: z
    .string()
    .max(64 * 1024)
    .optional(),
  engine: EngineId.optional(),
  model: z.string().max(200).optional(),
  /** Extra CLI arguments for the engine. */
  engineArgs: z.array(z.string().max(1_000)).max(50).optional(),
  env: z
    .record(z.string().regex(/^[A-Z_][A-Z0-9_]*$/, "must be an environment variable name"), z.string().max(4_000))
    .optional(),
  maxTurns: z.number().int().positive().optional(),
  allowedTools: z.array(z.string().max(200)).max(100).optional(),
});
export type ProfileSnapshot = z.infer<typeof ProfileSnapshot>;

/** Insert-only: a change is a new version. */
export const Profile = z.object({
  productId: ProductId,
  name: Name,
  version: z.number().int().positive(),
  snapshot: ProfileSnapshot,
  createdAt: z.date(),
});
export type Profile = z.infer<typeof Profile>;
