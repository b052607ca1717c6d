import type { Role } from "@gigafactory/schema";

/** A token bucket: refills at `perSecond`, holds at most `burst` calls. */
export interface RateLimit {
  perSecond: number;
  burst: number;
}

/** Why a call was refused, for the TOO_MANY_REQUESTS answer. */
export interface RateLimited {
  message: string;
  retryAfterMs: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * A token bucket per bearer token (`limits.rateLimits`, per role): each call takes one; the
 * bucket refills at `perSecond` up to `burst`. In memory, per coordinator; at most `maxTokens`
 * buckets are kept (the least recently used goes first, and starts full when it comes back).
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly limits: Readonly<Record<Role, RateLimit>>,
    private readonly maxTokens = 100_000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Takes one call from the token's bucket: undefined when allowed, why not otherwise. */
  take(principal: { tokenId: string; role: Role }): RateLimited | undefined {
    const { perSecond, burst } = this.limits[principal.role];
    const now = this.now();
    const bucket = this.buckets.get(principal.tokenId) ?? { tokens: burst, at: now };
    // most recently used last: the map's first entry is the one to drop
    this.buckets.delete(principal.tokenId);
    this.buckets.set(principal.tokenId, bucket);
    if (this.buckets.size > this.maxTokens) {
      const oldest = this.buckets.keys().next().value;
      if (oldest !== undefined) this.buckets.delete(oldest);
    }
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * perSecond);
    bucket.at = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return undefined;
    }
    const retryAfterMs = Math.ceil(((1 - bucket.tokens) / perSecond) * 1000);
    return {
      retryAfterMs,
      message: `rate limit: a ${principal.role} token may make ${perSecond} requests per second (bursts of ${burst}); retry in ${retryAfterMs} ms`,
    };
  }
}
