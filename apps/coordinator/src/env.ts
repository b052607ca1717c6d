import { Duration, LogLevel, ProductId } from "@gigafactory/schema";
import { z } from "zod";
import { DEFAULT_TIMINGS, type TimingOptions } from "./options.js";

/** `z.coerce.boolean()` turns "false" into true; this does not. */
const Flag = z.enum(["true", "false", "1", "0", ""]).transform((value) => value === "true" || value === "1");

/** A duration that must not be zero: factories are told it, and act on it. */
const Positive = z.number().int().positive();

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
  /** The built dashboard served at `/` (default: apps/dashboard/dist beside this app). */
  GF_DASHBOARD_DIR: z.string().min(1).optional(),
  /** The admin token made at first start is for this product (a product id, as tokens carry it). */
  GF_DEFAULT_PRODUCT: ProductId.default("default"),
  // timings: documented with their defaults in options.ts
  GF_LEASE_TTL: Duration.pipe(Positive).default(DEFAULT_TIMINGS.lease.ttlMs),
  GF_HEARTBEAT_INTERVAL: Duration.pipe(Positive).default(DEFAULT_TIMINGS.lease.heartbeatMs),
  GF_FACTORY_GONE_AFTER: Duration.default(DEFAULT_TIMINGS.lease.factoryGoneAfterMs),
  GF_NOTIFIER_POLL: Duration.default(DEFAULT_TIMINGS.notifier.pollMs),
  /** Idle `work` nudge period and retry delay of an unclaimed job's nudges (options.ts `streams`). */
  GF_IDLE_NUDGE: Duration.pipe(Positive).default(DEFAULT_TIMINGS.streams.idleNudgeMs),
  GF_NUDGE_RETRY: Duration.pipe(Positive).default(DEFAULT_TIMINGS.streams.nudgeRetryMs),
  GF_BACKOFF_BASE: Duration.default(DEFAULT_TIMINGS.lease.backoff.baseMs),
  GF_BACKOFF_MAX: Duration.default(DEFAULT_TIMINGS.lease.backoff.maxMs),
  GF_BLOB_SWEEP_EVERY: Duration.pipe(Positive).default(DEFAULT_TIMINGS.blobs.sweepEveryMs),
  GF_SCHEDULE_POLL: Duration.pipe(Positive).default(DEFAULT_TIMINGS.schedules.pollMs),
  GF_SCHEDULE_FIRING_LEASE: Duration.pipe(Positive).default(DEFAULT_TIMINGS.schedules.firingLeaseMs),
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
  /** Calls per second and burst for every role's tokens at once (`limits.rateLimits` in options.ts). */
  GF_RATE_LIMIT: z.coerce.number().positive().optional(),
  GF_RATE_BURST: z.coerce.number().int().positive().optional(),
  /** With both, the coordinator serves HTTPS and WSS (PEM files); with neither, plain HTTP. */
  GF_TLS_CERT: z.string().min(1).optional(),
  GF_TLS_KEY: z.string().min(1).optional(),
  /** GitHub Issues tracker (modules/tracker): token, REST root, webhook secret, trigger label. */
  GF_GITHUB_TOKEN: z.string().min(1).optional(),
  GF_GITHUB_API_URL: z.string().url().default("https://api.github.com"),
  GF_GITHUB_WEBHOOK_SECRET: z.string().min(1).optional(),
  GF_GITHUB_TRIGGER_LABEL: z.string().min(1).max(100).default("gigafactory"),
  /** Events sent by this login (our own bot's echoes) are ignored, so an echo never re-triggers. */
  GF_GITHUB_BOT_LOGIN: z.string().min(1).optional(),
  /** The product webhook deliveries import into (default GF_DEFAULT_PRODUCT). */
  GF_GITHUB_PRODUCT: ProductId.optional(),
  GF_GITHUB_CLOSE_ON_DONE: Flag.default(false),
  /** `owner/repo,owner/repo`: repositories the polling safety net lists (none: no polling). */
  GF_GITHUB_REPOS: z
    .string()
    .default("")
    .transform((text) =>
      text
        .split(",")
        .map((repo) => repo.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().regex(/^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+$/, "must be owner/repo"))),
  GF_TRACKER_POLL_EVERY: Duration.pipe(Positive).default(DEFAULT_TIMINGS.tracker.pollEveryMs),
  /** The predecessor's Items API (seed 001). */
  GF_ITEMS_API_URL: z.string().url().optional(),
  GF_ITEMS_TOKEN: z.string().min(1).optional(),
  /** Links in echo comments point here. */
  GF_DASHBOARD_URL: z.string().url().optional(),
  GF_TRACKER_EVERY: Duration.pipe(Positive).default(DEFAULT_TIMINGS.tracker.everyMs),
  /** Prometheus metrics at `/metrics` (default on); `GF_METRICS_TOKEN` may scrape them besides an admin token. */
  GF_METRICS: Flag.default(true),
  GF_METRICS_TOKEN: z.string().min(16).optional(),
  /** Traces: the OTLP/HTTP collector; unset, no SDK is loaded (the exporter reads the other OTEL_* itself). */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.string().url().optional(),
  GF_LOG_LEVEL: LogLevel.default("info"),
  GF_LOG_PRETTY: Flag.default(false),
});
export type Env = z.infer<typeof Env>;

/** Both TLS files or neither: one alone is a mistake, not a request for plain HTTP. */
const TlsPair = Env.refine((env) => (env.GF_TLS_CERT === undefined) === (env.GF_TLS_KEY === undefined), {
  message: "GF_TLS_CERT and GF_TLS_KEY go together",
  path: ["GF_TLS_CERT"],
});

export function readEnv(source: NodeJS.ProcessEnv = process.env): Env {
  const parsed = TlsPair.safeParse(source);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join(".")}: ${issue.message}`);
    throw new Error(`invalid coordinator configuration:\n${lines.join("\n")}`);
  }
  return parsed.data;
}

/** The timing options (options.ts) with the values the environment sets filled in. */
export function timingOptions(env: Env): TimingOptions {
  const { lease, notifier } = DEFAULT_TIMINGS;
  return {
    ...DEFAULT_TIMINGS,
    lease: {
      ...lease,
      ttlMs: env.GF_LEASE_TTL,
      heartbeatMs: env.GF_HEARTBEAT_INTERVAL,
      factoryGoneAfterMs: env.GF_FACTORY_GONE_AFTER,
      backoff: { baseMs: env.GF_BACKOFF_BASE, maxMs: env.GF_BACKOFF_MAX },
    },
    notifier: { ...notifier, pollMs: env.GF_NOTIFIER_POLL },
    streams: { ...DEFAULT_TIMINGS.streams, idleNudgeMs: env.GF_IDLE_NUDGE, nudgeRetryMs: env.GF_NUDGE_RETRY },
    blobs: { ...DEFAULT_TIMINGS.blobs, sweepEveryMs: env.GF_BLOB_SWEEP_EVERY },
    limits: { ...DEFAULT_TIMINGS.limits, rateLimits: rateLimits(env) },
    schedules: {
      ...DEFAULT_TIMINGS.schedules,
      pollMs: env.GF_SCHEDULE_POLL,
      firingLeaseMs: env.GF_SCHEDULE_FIRING_LEASE,
    },
    tracker: { ...DEFAULT_TIMINGS.tracker, everyMs: env.GF_TRACKER_EVERY, pollEveryMs: env.GF_TRACKER_POLL_EVERY },
  };
}

/** The per-role rate limits, with `GF_RATE_LIMIT` / `GF_RATE_BURST` laid over every role's. */
function rateLimits(env: Env): TimingOptions["limits"]["rateLimits"] {
  const roles = DEFAULT_TIMINGS.limits.rateLimits;
  const over = (limit: { perSecond: number; burst: number }) => ({
    perSecond: env.GF_RATE_LIMIT ?? limit.perSecond,
    burst: env.GF_RATE_BURST ?? limit.burst,
  });
  return { admin: over(roles.admin), service: over(roles.service), factory: over(roles.factory) };
}

/**
 * Development mode (`NODE_ENV=development`): only then do error answers carry stack traces. Read
 * here, beside the other variables; anything else (unset, `test`, `production`) sends none.
 */
export function isDevelopment(source: NodeJS.ProcessEnv = process.env): boolean {
  return source.NODE_ENV === "development";
}
