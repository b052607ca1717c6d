/**
 * Every timing rule of the coordinator, in one place (the way BullMQ keeps a worker's in
 * `worker-options.ts`). Rules read from the environment name their variable (`env.ts` parses
 * them and `timingOptions` in `env.ts` fills them in); the others are fixed here. Derived
 * cadences are functions with names (`reapEvery`), so "every ttl/4" is written once.
 */
import {
  TOKEN_CACHE_MAX_ENTRIES,
  TOKEN_CACHE_NEGATIVE_TTL_MS,
  TOKEN_CACHE_TTL_MS,
  type TokenCacheOptions,
} from "./modules/auth/tokens.js";
import type { Role } from "@gigafactory/schema";
import type { RateLimit } from "./modules/auth/rate-limiter.js";

/** Leases: how long a claim holds a job, and what follows from it. */
export interface LeaseOptions {
  /**
   * How long a claim or a renewal holds a job. Factories renew every third of it (the factory's
   * `renewEvery`); the reaper takes back a job whose lease ran out (`reapEvery`). `GF_LEASE_TTL`.
   * @defaultValue 30_000
   */
  ttlMs: number;
  /**
   * How often a factory should heartbeat; told to it at `register`. `GF_HEARTBEAT_INTERVAL`.
   * @defaultValue 10_000
   */
  heartbeatMs: number;
  /**
   * A factory whose last heartbeat is older than this is marked `gone` by the reaper.
   * `GF_FACTORY_GONE_AFTER`.
   * @defaultValue 35_000
   */
  factoryGoneAfterMs: number;
  /**
   * Retry backoff after a failed attempt: `baseMs * 2^(attempt-1)`, at most `maxMs`.
   * `GF_BACKOFF_BASE`, `GF_BACKOFF_MAX`.
   * @defaultValue `{ baseMs: 5_000, maxMs: 300_000 }`
   */
  backoff: { baseMs: number; maxMs: number };
  /**
   * How many lock collisions one claim call tolerates before it gives up (each is a job skipped).
   * Used by `modules/leases/claims.service.ts`.
   * @defaultValue 20
   */
  maxLockRetries: number;
  /**
   * How long a job's follow-ups may stay owed (its `settle` marker) before a reaper runs them: long
   * enough for the request that made the stage change to finish them itself, short enough that a
   * dependent of a job whose request failed waits seconds, not forever. Compared with the reaper's
   * clock, so it also absorbs small clock differences between coordinators.
   * @defaultValue 5_000
   */
  settleGraceMs: number;
}

/** The notifier: how writes made through other coordinators become wake-ups here. */
export interface NotifierOptions {
  /**
   * How often the notifier tails the `events` collection for writes made by other coordinators;
   * 0 turns tailing off (one coordinator alone). `GF_NOTIFIER_POLL`.
   * @defaultValue 250
   */
  pollMs: number;
  /**
   * The most events one tail read takes; a full page is followed at once by the next one (the
   * look-back is kept either way).
   * @defaultValue 2_000
   */
  tailBatch: number;
  /**
   * How far each tail pass reads again below the newest event `_id` seen, measured on the
   * ObjectIds' own timestamps (never this coordinator's clock): events can land after a newer
   * `_id` was read (concurrent inserts; writers' clocks a little apart). Whole seconds. Writers'
   * clocks must agree within this.
   * @defaultValue 2_000
   */
  lookBackMs: number;
  /**
   * How long an event this coordinator published itself is remembered, so the tail does not
   * publish it again. Only while tailing (`pollMs` > 0).
   * @defaultValue 10_000
   */
  seenForMs: number;
  /**
   * How long one tail pass may take: the query's `maxTimeMS`, and then the pass is given up so
   * the next poll starts a fresh one (a hung query never stops the cross-coordinator wake-ups).
   * @defaultValue 5_000
   */
  pollTimeoutMs: number;
}

/** Subscriptions (`jobs.watch`, `jobs.feed`, `factory.connect`). */
export interface StreamOptions {
  /**
   * How long `watch` and `feed` sleep without a wake-up before they read the database anyway
   * (a wake-up is a hint; a lost one costs at most this).
   * @defaultValue 5_000
   */
  recheckMs: number;
  /**
   * How long `watch` waits for an event seq that is reserved but not yet written before it moves
   * past it (its writer may have died).
   * @defaultValue 5_000
   */
  gapWaitMs: number;
  /**
   * How often `watch` looks again while it waits at such a gap.
   * @defaultValue 50
   */
  gapRecheckMs: number;
  /**
   * How many events `watch` reads per page.
   * @defaultValue 500
   */
  watchPageSize: number;
  /**
   * How long a factory's `connect` stays quiet before it is nudged to look for work anyway, as a
   * fallback for a missed wake-up.
   * @defaultValue 15_000
   */
  idleNudgeMs: number;
  /**
   * How many connected factories that can run a newly claimable job are sent `work` for it at
   * once (rotating, see `factories/nudge-router.ts`), instead of every factory in the product.
   * @defaultValue 2
   */
  nudgeFanout: number;
  /**
   * How long after a nudge a job still unclaimed gets the next `nudgeFanout` factories nudged.
   * @defaultValue 1_000
   */
  nudgeRetryMs: number;
  /**
   * How many rounds of `nudgeFanout` nudges an unclaimed job gets before it is parked (probably
   * blocked by a dependency or a lock; a later completion nudges for it once more).
   * @defaultValue 4
   */
  nudgeRounds: number;
  /**
   * How many events `feed` reads from `events` per page (it tails them like the notifier, with
   * the notifier's `lookBackMs`).
   * @defaultValue 500
   */
  feedPageSize: number;
  /**
   * The `maxTimeMS` of each of `feed`'s reads.
   * @defaultValue 10_000
   */
  feedReadTimeoutMs: number;
}

/** HTTP, WebSocket and MongoDB connections. */
export interface TransportOptions {
  /**
   * WebSocket keep-alive: ping every `pingMs`, drop a connection that does not answer within
   * `pongWaitMs`.
   * @defaultValue `{ pingMs: 30_000, pongWaitMs: 5_000 }`
   */
  keepAlive: { pingMs: number; pongWaitMs: number };
  /**
   * On shutdown, how long HTTP calls in flight may finish before their connections are cut.
   * @defaultValue 5_000
   */
  closeGraceMs: number;
  /**
   * How long the whole process may take to shut down after SIGTERM/SIGINT before it exits
   * anyway. Used by `main.ts`.
   * @defaultValue 15_000
   */
  shutdownDeadlineMs: number;
  /**
   * How long the MongoDB driver looks for a server before an operation fails.
   * @defaultValue 10_000
   */
  mongoServerSelectionTimeoutMs: number;
  /**
   * `/readyz` answers 503 when MongoDB does not answer a ping within this long (a probe must not
   * hang for the driver's whole server selection).
   * @defaultValue 2_000
   */
  readyPingTimeoutMs: number;
}

/** Caches and bounded reads. */
export interface CacheOptions {
  /**
   * The bearer-token cache (`modules/auth/tokens.ts`, whose constants these are): a valid token is
   * trusted for `ttlMs` without asking the database (how long a revocation takes to reach the other
   * coordinators), a refusal is remembered for `negativeTtlMs`, and at most `maxEntries` are kept.
   * @defaultValue `{ ttlMs: 10_000, negativeTtlMs: 1_000, maxEntries: 10_000 }`
   */
  tokenCache: Required<Omit<TokenCacheOptions, "now">>;
  /**
   * The most runs one `admin.insights` call aggregates. Used by `modules/admin/insights.service.ts`.
   * @defaultValue 50_000
   */
  insightsMaxRuns: number;
  /**
   * How long the database-derived metric gauges (`modules/metrics`) are reused between scrapes.
   * @defaultValue 5_000
   */
  metricsGaugesMs: number;
  /**
   * How long a claim trusts the factory document it last read (`FactoriesService.forClaim`): the
   * longest a drain, revoke or re-register made through ANOTHER coordinator can go unseen by this
   * one's claims. This coordinator's own writes to the factory update it at once.
   * @defaultValue 1_000
   */
  claimFactoryMs: number;
  /**
   * How long a claim trusts the product's held lock names it last read (`leases/held-locks.ts`).
   * A lock taken elsewhere meanwhile only costs the claim one lock collision; one freed elsewhere
   * is seen at once through its event (the notifier), this bound covers a lock freed without one.
   * @defaultValue 1_000
   */
  claimLocksMs: number;
  /**
   * How long a first-try claim trusts a factory's seat count it last read, plus what it leased
   * since (`leases/held-seats.ts`): only to let a claim through; a count that leaves no room is
   * read again. Jobs leased to the factory through ANOTHER coordinator go unseen at most this long.
   * @defaultValue 1_000
   */
  claimSeatsMs: number;
}

/** Bounds on what one client may ask of the transport (hostile input, slow consumers). */
export interface LimitOptions {
  /**
   * The largest WebSocket message the server reads; a bigger one closes the socket (1009) before
   * it is buffered.
   * @defaultValue 1_048_576 (1 MiB)
   */
  wsMaxPayloadBytes: number;
  /**
   * A WebSocket whose connection params carry no valid token by then is closed (4401).
   * @defaultValue 10_000
   */
  wsAuthDeadlineMs: number;
  /**
   * The most subscriptions open at once on one WebSocket; the next one is refused
   * (`TOO_MANY_REQUESTS`).
   * @defaultValue 100
   */
  wsMaxSubscriptions: number;
  /**
   * A WebSocket with more than this many bytes queued and unread is a slow consumer and is cut;
   * it reconnects and its streams resume from their last event id.
   * @defaultValue 8_388_608 (8 MiB)
   */
  wsMaxBufferedBytes: number;
  /**
   * How often the sockets' queued bytes are checked against `wsMaxBufferedBytes`.
   * @defaultValue 1_000
   */
  wsBufferCheckMs: number;
  /**
   * How often the tokens of the open WebSockets are checked against the database, so a token
   * revoked through another coordinator closes them here (4403) within this time. The token
   * cache's time to live.
   * @defaultValue 10_000
   */
  wsTokenRecheckMs: number;
  /**
   * The most calls one batched HTTP request may carry; a bigger batch is answered 400. The SDK
   * batches at most 50. A WebSocket message may carry this plus `wsMaxSubscriptions` (a client
   * resends its open subscriptions in one message when it reconnects).
   * @defaultValue 100
   */
  maxBatchSize: number;
  /**
   * Calls per bearer token (tRPC procedures, each call of a batch, and the artifact routes): a
   * token bucket per token (`modules/auth/rate-limiter.ts`), refused with TOO_MANY_REQUESTS (429)
   * when empty. Per role: a factory's hot paths (heartbeats, events, renewals) must never be
   * throttled in normal operation, and one factory token may serve several factories.
   * `GF_RATE_LIMIT` and `GF_RATE_BURST` set every role's at once.
   * A client's fan-out (the SDK test sends 250 queries at once) fits in a burst.
   * @defaultValue admin and service 500/s, bursts of 2000; factory 2000/s, bursts of 4000
   */
  rateLimits: Record<Role, RateLimit>;
}

/** The blob store's clean-up (`modules/artifacts/blob-store.ts`, `BlobSweeper`). */
export interface BlobOptions {
  /**
   * How often each coordinator removes abandoned temp files and blobs no artifact points to.
   * `GF_BLOB_SWEEP_EVERY`.
   * @defaultValue 600_000
   */
  sweepEveryMs: number;
  /**
   * A temp file (an upload in progress) not written for this long belongs to an upload that died.
   * @defaultValue 86_400_000
   */
  tempMaxAgeMs: number;
  /**
   * A blob no artifact points to is removed only once it is this old, so an upload that has
   * stored its bytes but not yet its artifact is never removed.
   * @defaultValue 3_600_000
   */
  orphanGraceMs: number;
}

/** Schedules' firing loop (`modules/schedules/schedule-loop.ts`), on every coordinator. */
export interface ScheduleOptions {
  /**
   * How often each coordinator looks for due schedules when nothing is known to be due sooner;
   * after each pass it also wakes at the nearest due time. `GF_SCHEDULE_POLL`.
   * @defaultValue 1_000
   */
  pollMs: number;
  /**
   * How long a coordinator holds the firing of one due time (claimed, job not yet created); a
   * firing still held after this is retried by any coordinator with the same idempotency key.
   * `GF_SCHEDULE_FIRING_LEASE`.
   * @defaultValue 30_000
   */
  firingLeaseMs: number;
  /**
   * `bufferOne`: how often a buffered due time checks whether the job it waits for has ended.
   * @defaultValue 1_000
   */
  bufferRecheckMs: number;
  /**
   * How many due schedules one pass reads at a time, and how many it fires at once.
   * @defaultValue `{ batch: 200, concurrency: 16 }`
   */
  batch: number;
  concurrency: number;
}

/** What the dashboard's read models show (`modules/dashboard`). */
export interface DashboardOptions {
  /** A factory is shown stale after this many heartbeat intervals without one. @default 3 */
  staleAfterHeartbeats: number;
  /** The most jobs the overview lists as running now. @default 50 */
  runningLimit: number;
  /** A title search reads jobs newest first until a page is full; it is given up after this (`maxTimeMS`). @default 5000 */
  searchTimeoutMs: number;
}

/** The tracker module (modules/tracker): webhook deliveries, the echo outbox, polling. */
export interface TrackerOptions {
  /**
   * How often the echo outbox is passed and queued webhook deliveries are swept. `GF_TRACKER_EVERY`.
   * @defaultValue 5_000
   */
  everyMs: number;
  /**
   * How long a coordinator holds a delivery or an echo it works on before another may take it.
   * @defaultValue 60_000
   */
  holdMs: number;
  /**
   * Echo retries: `baseMs * 2^attempts`, at most `maxMs`, given up after `maxAttempts` tries.
   * @defaultValue `{ baseMs: 5_000, maxMs: 600_000, maxAttempts: 10 }`
   */
  echoBackoff: { baseMs: number; maxMs: number; maxAttempts: number };
  /**
   * How many owed echoes one outbox pass queues, and sends, at most (the rest wait a pass).
   * @defaultValue 100
   */
  outboxBatch: number;
  /**
   * The largest webhook body read; a bigger one is refused (413) unread.
   * @defaultValue 1_048_576
   */
  webhookMaxBytes: number;
  /**
   * How long one call to a tracker's API may take before it counts as failed.
   * @defaultValue 30_000
   */
  requestTimeoutMs: number;
  /**
   * The polling safety net: how often triggered items of `GF_GITHUB_REPOS` are listed (with
   * conditional requests), to catch missed webhook deliveries. `GF_TRACKER_POLL_EVERY`.
   * @defaultValue 300_000
   */
  pollEveryMs: number;
  /**
   * Each poll waits a random part of this fraction of `pollEveryMs` first, so coordinators
   * started together do not poll together.
   * @defaultValue 0.2
   */
  pollJitter: number;
}

export interface TimingOptions {
  lease: LeaseOptions;
  notifier: NotifierOptions;
  streams: StreamOptions;
  transport: TransportOptions;
  caches: CacheOptions;
  limits: LimitOptions;
  blobs: BlobOptions;
  schedules: ScheduleOptions;
  dashboard: DashboardOptions;
  tracker: TrackerOptions;
}

export const DEFAULT_TIMINGS = {
  lease: {
    ttlMs: 30_000,
    heartbeatMs: 10_000,
    factoryGoneAfterMs: 35_000,
    backoff: { baseMs: 5_000, maxMs: 300_000 },
    maxLockRetries: 20,
    settleGraceMs: 5_000,
  },
  notifier: { pollMs: 250, tailBatch: 2_000, lookBackMs: 2_000, seenForMs: 10_000, pollTimeoutMs: 5_000 },
  streams: {
    recheckMs: 5_000,
    gapWaitMs: 5_000,
    gapRecheckMs: 50,
    watchPageSize: 500,
    idleNudgeMs: 15_000,
    nudgeFanout: 2,
    nudgeRetryMs: 1_000,
    nudgeRounds: 4,
    feedPageSize: 500,
    feedReadTimeoutMs: 10_000,
  },
  transport: {
    keepAlive: { pingMs: 30_000, pongWaitMs: 5_000 },
    closeGraceMs: 5_000,
    shutdownDeadlineMs: 15_000,
    mongoServerSelectionTimeoutMs: 10_000,
    readyPingTimeoutMs: 2_000,
  },
  caches: {
    tokenCache: {
      ttlMs: TOKEN_CACHE_TTL_MS,
      negativeTtlMs: TOKEN_CACHE_NEGATIVE_TTL_MS,
      maxEntries: TOKEN_CACHE_MAX_ENTRIES,
    },
    insightsMaxRuns: 50_000,
    metricsGaugesMs: 5_000,
    claimFactoryMs: 1_000,
    claimLocksMs: 1_000,
    claimSeatsMs: 1_000,
  },
  limits: {
    wsMaxPayloadBytes: 1024 * 1024,
    wsAuthDeadlineMs: 10_000,
    wsMaxSubscriptions: 100,
    wsMaxBufferedBytes: 8 * 1024 * 1024,
    wsBufferCheckMs: 1_000,
    wsTokenRecheckMs: TOKEN_CACHE_TTL_MS,
    maxBatchSize: 100,
    rateLimits: {
      admin: { perSecond: 500, burst: 2_000 },
      service: { perSecond: 500, burst: 2_000 },
      factory: { perSecond: 2_000, burst: 4_000 },
    },
  },
  blobs: { sweepEveryMs: 600_000, tempMaxAgeMs: 86_400_000, orphanGraceMs: 3_600_000 },
  schedules: { pollMs: 1_000, firingLeaseMs: 30_000, bufferRecheckMs: 1_000, batch: 200, concurrency: 16 },
  dashboard: { staleAfterHeartbeats: 3, runningLimit: 50, searchTimeoutMs: 5_000 },
  tracker: {
    everyMs: 5_000,
    holdMs: 60_000,
    echoBackoff: { baseMs: 5_000, maxMs: 600_000, maxAttempts: 10 },
    outboxBatch: 100,
    webhookMaxBytes: 1024 * 1024,
    requestTimeoutMs: 30_000,
    pollEveryMs: 300_000,
    pollJitter: 0.2,
  },
} as const satisfies TimingOptions;

/**
 * How often the reaper sweeps: a quarter of the lease TTL (at least 50 ms), so an expired lease
 * is taken back within 1.25 × TTL of its last renewal. Used by `modules/leases/reaper.ts`.
 */
export function reapEvery(leaseTtlMs: number): number {
  return Math.max(50, Math.floor(leaseTtlMs / 4));
}
