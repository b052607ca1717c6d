import type { Job } from "@gigafactory/schema";

/**
 * Every timing rule and size limit of the factory, in one place (after BullMQ's
 * `worker-options.ts`). The first four can be set by the operator: `config.ts` reads them from
 * flags and `GF_*` variables and defaults them to the values here. The rest are fixed rules,
 * named here so that no module keeps a number of its own. A cadence derived from another value
 * is a function named for it (`renewEvery`, `heartbeatEvery`, `writeRetryDelay`).
 */

// ── Settable (config.ts) ────────────────────────────────────────────────────

/**
 * Claim on this slow timer too, in case a `work` nudge was missed (`GF_CLAIM_POLL`).
 * @defaultValue 5_000
 */
export const CLAIM_POLL_MS = 5_000;

/**
 * Polls that find nothing back off, doubling, to at most this many times the claim poll interval
 * (30 s by default); a nudge, a claim or a freed seat resets it (`claims/claim-poll.ts`).
 * @defaultValue 6
 */
export const CLAIM_POLL_BACKOFF_MAX = 6;

/**
 * Each claim poll's wait is jittered by up to this fraction either way.
 * @defaultValue 0.2
 */
export const CLAIM_POLL_JITTER = 0.2;

/**
 * On SIGTERM (or a `drain` from the coordinator) running jobs get this long to finish before
 * they are checkpointed and released (`--drain-grace`, `GF_DRAIN_GRACE`).
 * @defaultValue 30_000
 */
export const DRAIN_GRACE_MS = 30_000;

/**
 * Stopping a process group (engine, reviewer, verify gate): SIGTERM, then SIGKILL after this
 * long (`GF_KILL_GRACE`).
 * @defaultValue 5_000
 */
export const KILL_GRACE_MS = 5_000;

/**
 * How often the daemon heartbeats: `GF_HEARTBEAT` when set, else the interval the coordinator
 * suggested when the factory registered.
 * @defaultValue the coordinator's `heartbeatMs`
 */
export function heartbeatEvery(configured: number | undefined, suggestedMs: number): number {
  return configured ?? suggestedMs;
}

// ── The lease and the watchdog ──────────────────────────────────────────────

/**
 * The shortest renewal interval, whatever the lease's TTL.
 * @defaultValue 100
 */
export const MIN_RENEW_EVERY_MS = 100;

/**
 * A held lease is renewed every third of its TTL, so two renewals in a row may fail (a
 * coordinator restart, a network blip) before it lapses. Never more often than
 * {@link MIN_RENEW_EVERY_MS}.
 * @defaultValue `leaseTtlMs / 3`
 */
export function renewEvery(leaseTtlMs: number): number {
  return Math.max(MIN_RENEW_EVERY_MS, Math.floor(leaseTtlMs / 3));
}

/**
 * Room kept for stopping the engine (its kill grace) and the writes around it, on top of the
 * kill grace, when the factory fences itself.
 * @defaultValue 1_000
 */
export const SELF_FENCE_SLACK_MS = 1_000;

/**
 * Self-fencing: when no renewal has succeeded and the lease's deadline (the send time of the
 * last successful claim or renewal plus the TTL, so the coordinator's clock is never read) is
 * this close, the factory stops the engine itself, as if fenced: another factory may hold the
 * job once the lease lapses. The kill grace plus {@link SELF_FENCE_SLACK_MS}, but at most a
 * quarter of the TTL, so a short lease is not given up after its first missed renewal.
 * @defaultValue `min(leaseTtlMs / 4, killGraceMs + SELF_FENCE_SLACK_MS)`
 */
export function selfFenceMargin(leaseTtlMs: number, killGraceMs: number): number {
  return Math.min(Math.floor(leaseTtlMs / 4), killGraceMs + SELF_FENCE_SLACK_MS);
}

/**
 * Added to the longest time the attempt's engine, reviewer and gates may take before the
 * watchdog gives the lease up: room for git, uploads and the writes around them.
 * @defaultValue 300_000
 */
export const WATCHDOG_SLACK_MS = 5 * 60_000;

/** setTimeout's limit (about 24.8 days); a longer delay would fire at once, so the watchdog is capped here. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The longest an attempt may legitimately take, after which the watchdog fires: the engine, the
 * reviewer and each verify gate each get the job's timeout, plus `slackMs` for everything
 * around them.
 * @defaultValue `timeoutMs × phases + WATCHDOG_SLACK_MS`
 */
export function attemptLimitMs(
  job: Pick<Job, "timeoutMs" | "review" | "verify">,
  slackMs: number = WATCHDOG_SLACK_MS,
): number {
  const phases = 1 + (job.review.mode === "engine" ? 1 : 0) + job.verify.length;
  return job.timeoutMs * phases + slackMs;
}

// ── Writes to the coordinator ───────────────────────────────────────────────

/**
 * Tries per fenced write (the first one included) when the failure is transient and the write
 * has no deadline; a job runner's writes are retried until its lease's deadline instead.
 * @defaultValue 5
 */
export const WRITE_TRIES = 5;

/**
 * The first retry's delay; each later one doubles it.
 * @defaultValue 200
 */
export const WRITE_RETRY_BASE_MS = 200;

/**
 * The longest wait between two tries of a write.
 * @defaultValue 5_000
 */
export const WRITE_RETRY_MAX_MS = 5_000;

/**
 * The wait before try `attempt + 1` of a fenced write: exponential, capped.
 * @defaultValue `min(WRITE_RETRY_MAX_MS, WRITE_RETRY_BASE_MS × 2^attempt)`
 */
export function writeRetryDelay(attempt: number): number {
  return Math.min(WRITE_RETRY_MAX_MS, WRITE_RETRY_BASE_MS * 2 ** attempt);
}

/**
 * Events held for the coordinator (waiting to be sent, or sent again after a failure) at most;
 * past it the oldest `log` lines are dropped, counted by a `dropped` event in their place. Other
 * events are never dropped.
 * @defaultValue 10_000
 */
export const EVENT_BUFFER_MAX = 10_000;

/**
 * The same bound in bytes of event data (JSON).
 * @defaultValue 8 MiB
 */
export const EVENT_BUFFER_MAX_BYTES = 8 * 1024 * 1024;

/**
 * A stalled artifact upload must not hold the job (and its lease) forever.
 * @defaultValue 300_000
 */
export const UPLOAD_TIMEOUT_MS = 5 * 60_000;

/**
 * Events are sent at most this long after they are pushed.
 * @defaultValue 250
 */
export const EVENT_FLUSH_MS = 250;

/**
 * Events per batch; a full batch is sent at once.
 * @defaultValue 200
 */
export const EVENT_BATCH_MAX = 200;

/**
 * Bytes of event data (UTF-8 JSON) per batch; a batch holds at least one event. With events of at
 * most 64 KiB each, a batch stays far inside the coordinator's WebSocket message limit (1 MiB by
 * default; a larger message closes the socket) and its HTTP body limit (2 MiB).
 * @defaultValue 256 KiB
 */
export const EVENT_BATCH_MAX_BYTES = 256 * 1024;

// ── Start-up ────────────────────────────────────────────────────────────────

/**
 * The first wait before registering again when the coordinator is unreachable at start-up;
 * each later one doubles it.
 * @defaultValue 500
 */
export const START_RETRY_BASE_MS = 500;

/**
 * The longest wait between two tries to reach the coordinator at start-up.
 * @defaultValue 10_000
 */
export const START_RETRY_MAX_MS = 10_000;

/**
 * The wait before try `attempt + 1` to register: exponential, capped. The whole wait is
 * unbounded unless `--start-timeout` (`GF_START_TIMEOUT`) is set.
 * @defaultValue `min(START_RETRY_MAX_MS, START_RETRY_BASE_MS × 2^(attempt - 1))`
 */
export function startRetryDelay(attempt: number): number {
  return Math.min(START_RETRY_MAX_MS, START_RETRY_BASE_MS * 2 ** (attempt - 1));
}

// ── Processes and git ───────────────────────────────────────────────────────

/**
 * After a group's leader exited, how long to wait for its output pipes to close: a process that
 * left the group (setsid) may keep them open, and then reading stops.
 * @defaultValue 2_000
 */
export const DRAIN_WAIT_MS = 2_000;

/**
 * How often a stopping process group is checked for being gone.
 * @defaultValue 20
 */
export const POLL_MS = 20;

/**
 * After SIGKILL, how long to wait for the group to be gone. SIGKILL cannot be caught; this only
 * covers the kernel tearing processes down.
 * @defaultValue 2_000
 */
export const AFTER_KILL_WAIT_MS = 2_000;

/**
 * SIGTERM-to-SIGKILL grace for an engine's group left by a crashed daemon, killed at startup.
 * @defaultValue 2_000
 */
export const LEFTOVER_KILL_GRACE_MS = 2_000;

/**
 * A git that hangs (a lock held elsewhere, a credential prompt, a stuck filesystem) must not
 * hold the job forever.
 * @defaultValue 120_000
 */
export const GIT_TIMEOUT_MS = 120_000;
/** The most output one git command may print (a workspace's diff); past it the command fails. */
export const GIT_MAX_OUTPUT_BYTES = 256 * 1024 * 1024;

/**
 * After a second signal the daemon flushes its log and exits; a log destination that cannot
 * flush (a closed stdout) gets this long.
 * @defaultValue 1_000
 */
export const EXIT_FLUSH_WAIT_MS = 1_000;

// ── Sizes ───────────────────────────────────────────────────────────────────

/**
 * The full engine log kept for the `engine.log` artifact; events carry every line anyway.
 * @defaultValue 16 MiB
 */
export const MAX_LOG_BYTES = 16 * 1024 * 1024;

/**
 * Lines of a verify gate's output kept as its `tail` in the run's verify result.
 * @defaultValue 40
 */
export const VERIFY_TAIL_LINES = 40;
