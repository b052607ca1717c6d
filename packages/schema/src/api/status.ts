import { z } from "zod";
import { FactoryState } from "../factory.js";
import { Stage } from "../stages.js";

/** `admin.status` takes nothing (an empty object); admins act fleet-wide, so it covers every product. */
export const StatusInput = z.object({}).strict();

/** `admin.status`: one screen of fleet health (`gf status`), read from MongoDB (fleet-wide, every product). */
export const StatusOutput = z.object({
  /** The coordinator answering (its answer itself says its MongoDB answered). */
  coordinator: z.object({ uptimeSeconds: z.number().nonnegative() }),
  /** What the launcher chose (`mongod`, `stand-in`, `external`), when the coordinator knows. */
  mongoBackend: z.string().optional(),
  jobsByStage: z.record(Stage, z.number().int().nonnegative()),
  queue: z.object({
    depth: z.number().int().nonnegative(),
    /** Age of the oldest runnable job waiting in the inbox; 0 when none. */
    oldestAgeSeconds: z.number().nonnegative(),
  }),
  factoriesByState: z.record(FactoryState, z.number().int().nonnegative()),
  seats: z.object({ used: z.number().int().nonnegative(), free: z.number().int().nonnegative() }),
  /** Jobs that ended `failed` in the last hour. */
  failedLastHour: z.number().int().nonnegative(),
});
export type StatusOutput = z.infer<typeof StatusOutput>;
