import { compoundKey } from "../../db/keys.js";
import { ExpiringLru } from "../auth/token-cache.js";

/**
 * How many jobs each factory holds, as the claim path last counted them plus what this
 * coordinator leased to it since, so a claim does not count them again each time. It is used
 * only to let a claim go ahead: when the remembered count leaves no room for what the factory
 * asks, the claim counts afresh (a job it finished, through any coordinator, frees a seat). So a
 * count too high costs one read; a count too low (jobs leased to the factory through ANOTHER
 * coordinator since) can let one claim pass the seat limit only if the factory asks for more
 * than it has free, and only until the count is `ttlMs` old. The daemon asks for its free seats.
 */
export class HeldSeats {
  /** By factory key; absent when `ttlMs` is 0. */
  private readonly entries: ExpiringLru<{ held: number }> | undefined;

  constructor(
    private readonly deps: {
      /** `caches.claimSeatsMs` in options.ts; 0 counts at every claim. */
      ttlMs: number;
      /** Factories remembered at most (the least recently used go first). @defaultValue 10_000 */
      maxEntries?: number;
      now?: () => number;
    },
  ) {
    if (deps.ttlMs > 0)
      this.entries = new ExpiringLru({ maxEntries: deps.maxEntries ?? 10_000, ...(deps.now ? { now: deps.now } : {}) });
  }

  /** The remembered count, when fresh and leaving room for `wanted` more within `limit`. */
  roomFor(productId: string, factoryId: string, wanted: number, limit: number): number | undefined {
    const held = this.entries?.get(compoundKey(productId, factoryId))?.value.held;
    return held !== undefined && held + wanted <= limit ? held : undefined;
  }

  /** A fresh count, read from the jobs. */
  counted(productId: string, factoryId: string, held: number): void {
    this.entries?.set(compoundKey(productId, factoryId), { held }, this.deps.ttlMs);
  }

  /** Jobs this coordinator just leased to the factory. */
  leased(productId: string, factoryId: string, count: number): void {
    const entry = this.entries?.get(compoundKey(productId, factoryId));
    if (entry) entry.value.held += count;
  }
}
