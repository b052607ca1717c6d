import { z } from "zod";
import { Capability, EngineId, FactoryId, ProductId } from "./primitives.js";

export const FactoryState = z.enum(["active", "draining", "gone"]);
export type FactoryState = z.infer<typeof FactoryState>;

export const FactoryDescriptor = z.object({
  host: z.string().min(1).max(256),
  pid: z.number().int().positive(),
  os: z.string().max(64),
  arch: z.string().max(64).optional(),
  version: z.string().max(64),
});
export type FactoryDescriptor = z.infer<typeof FactoryDescriptor>;

export const FactoryLoad = z.object({
  running: z.number().int().nonnegative(),
  jobIds: z.array(z.string()).max(1_000).default([]),
  loadAvg: z.number().nonnegative().optional(),
});
export type FactoryLoad = z.infer<typeof FactoryLoad>;

export const FactoryHealth = z.object({
  ok: z.boolean(),
  detail: z.string().max(1_000).optional(),
  freeDiskMb: z.number().nonnegative().optional(),
  rssMb: z.number().nonnegative().optional(),
});
export type FactoryHealth = z.infer<typeof FactoryHealth>;

export const Factory = z.object({
  _id: z.string(),
  productId: ProductId,
  factoryId: FactoryId,
  descriptor: FactoryDescriptor,
  capabilities: z.array(Capability),
  engines: z.array(EngineId),
  seatLimit: z.number().int().positive(),
  load: FactoryLoad,
  health: FactoryHealth,
  state: FactoryState,
  registeredAt: z.date(),
  lastHeartbeatAt: z.date(),
  /**
   * The id (sha-256) of the token that registered this factory: only that token may act as it.
   * Absent on a factory registered before factories were bound.
   */
  tokenId: z.string().optional(),
  /** Set when an admin revoked this factory: no token may act as it until a new token registers it. */
  revokedAt: z.date().optional(),
});
export type Factory = z.infer<typeof Factory>;
