import type { LocksRepository } from "../locks/locks.repository.js";

/**
 * A product's held lock names as the claim path last read them, so a claim does not read them
 * again each time. Safe to be stale either way: the lock itself is the mutex (`LocksRepository.take`
 * is an insert on a unique id), so a name missing here only costs a claim one lock collision
 * (the job goes back, and the names are read afresh), and a name still listed after its lock was
 * freed only keeps its jobs waiting until the entry is forgotten. It is forgotten on every work
 * event of the product (a job ended somewhere, so a lock may have been freed: the notifier
 * delivers other coordinators' events within its poll), on a collision, and after `ttlMs`.
 */
export class HeldLocks {
  private readonly entries = new Map<string, { names: Set<string>; until: number }>();
  /**
   * Bumped whenever a product's names change under a read (forgotten, or a lock taken here): a
   * read that overlapped a bump is answered but not kept. One number per product ever claimed in.
   */
  private readonly generations = new Map<string, number>();

  constructor(
    private readonly deps: {
      locks: Pick<LocksRepository, "heldNames">;
      /** `caches.claimLocksMs` in options.ts; 0 reads every time. */
      ttlMs: number;
      now?: () => number;
    },
  ) {}

  /** The product's held lock names: remembered ones while fresh, else one read. */
  async names(productId: string): Promise<string[]> {
    const entry = this.entries.get(productId);
    if (entry && entry.until > this.now()) return [...entry.names];
    const generation = this.generation(productId);
    const names = await this.deps.locks.heldNames(productId);
    if (this.deps.ttlMs > 0 && this.generation(productId) === generation)
      this.entries.set(productId, { names: new Set(names), until: this.now() + this.deps.ttlMs });
    return names;
  }

  /** A lock this coordinator just took: later claims skip its jobs without a read. */
  taken(productId: string, name: string): void {
    this.entries.get(productId)?.names.add(name);
    this.bump(productId);
  }

  /** The next claim in the product reads the names again. */
  forget(productId: string): void {
    this.entries.delete(productId);
    this.bump(productId);
  }

  private generation(productId: string): number {
    return this.generations.get(productId) ?? 0;
  }

  private bump(productId: string): void {
    this.generations.set(productId, this.generation(productId) + 1);
  }

  private now(): number {
    return this.deps.now ? this.deps.now() : Date.now();
  }
}
