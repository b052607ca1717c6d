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
  private readonly entries = new Map<string, { held: number; until: number }>();

  constructor(
    private readonly deps: {
      /** `caches.claimSeatsMs` in options.ts; 0 counts at every claim. */
      ttlMs: number;
      /** Keys remembered at most (the oldest go first). */
      maxEntries?: number;
      now?: () => number;
    },
  ) {}

  /** The remembered count, when fresh and leaving room for `wanted` more within `limit`. */
  roomFor(productId: string, factoryId: string, wanted: number, limit: number): number | undefined {
    const entry = this.entries.get(key(productId, factoryId));
    if (!entry || entry.until <= this.now() || entry.held + wanted > limit) return undefined;
    return entry.held;
  }

  /** A fresh count, read from the jobs. */
  counted(productId: string, factoryId: string, held: number): void {
    if (this.deps.ttlMs <= 0) return;
    const k = key(productId, factoryId);
    this.entries.delete(k);
    this.entries.set(k, { held, until: this.now() + this.deps.ttlMs });
    const max = this.deps.maxEntries ?? 10_000;
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= max) break;
      this.entries.delete(oldest);
    }
  }

  /** Jobs this coordinator just leased to the factory. */
  leased(productId: string, factoryId: string, count: number): void {
    const entry = this.entries.get(key(productId, factoryId));
    if (entry) entry.held += count;
  }

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }
}

const key = (productId: string, factoryId: string) => `${productId}\u0000${factoryId}`;
