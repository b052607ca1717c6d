/** Exponential backoff between attempts: base × 2^(attempt-1), capped. */
export function backoffMs(attempt: number, opts: { baseMs: number; maxMs: number }): number {
  return Math.min(opts.maxMs, opts.baseMs * 2 ** Math.max(0, attempt - 1));
}

/** Where a failed attempt goes: back to the inbox while attempts remain, else failed. */
export function afterFailedAttempt(attempt: number, maxAttempts: number): "inbox" | "failed" {
  return attempt < maxAttempts ? "inbox" : "failed";
}
