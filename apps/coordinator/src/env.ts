import { Duration } from "@gigafactory/schema";
import { z } from "zod";

/** `z.coerce.boolean()` turns "false" into true; this does not. */
const Flag = z.enum(["true", "false", "1", "0", ""]).transform((value) => value === "true" || value === "1");

/** Coordinator configuration, read once from the environment. */
export const Env = z.object({
  GF_HOST: z.string().default("127.0.0.1"),
  GF_PORT: z.coerce.number().int().min(0).max(65_535).default(7700),
  /** Without it the local launcher starts a MongoDB (real mongod, else the Java stand-in). */
  GF_MONGO_URL: z.string().url().optional(),
  GF_DB_NAME: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,60}$/)
    .default("gigafactory"),
  GF_DATA_DIR: z.string().default(".gigafactory"),
  GF_BLOB_DIR: z.string().optional(),
  GF_ADMIN_TOKEN_FILE: z.string().optional(),
  GF_DEFAULT_PRODUCT: z.string().default("default"),
  GF_LEASE_TTL: Duration.default(30_000),
  GF_HEARTBEAT_INTERVAL: Duration.default(10_000),
  /** A factory whose heartbeat is older than this is `gone`. */
  GF_FACTORY_GONE_AFTER: Duration.default(35_000),
  /** How often the notifier tails the events collection for writes made by other coordinators; 0 turns it off. */
  GF_NOTIFIER_POLL: Duration.default(250),
  GF_BACKOFF_BASE: Duration.default(5_000),
  GF_BACKOFF_MAX: Duration.default(300_000),
  GF_ARTIFACT_MAX_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(64 * 1024 * 1024),
  GF_HTTP_MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(2 * 1024 * 1024),
  GF_LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
  GF_LOG_PRETTY: Flag.default(false),
});
export type Env = z.infer<typeof Env>;

export function readEnv(source: NodeJS.ProcessEnv = process.env): Env {
  const parsed = Env.safeParse(source);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join(".")}: ${issue.message}`);
    throw new Error(`invalid coordinator configuration:\n${lines.join("\n")}`);
  }
  return parsed.data;
}
