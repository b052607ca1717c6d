/**
 * A map bounded by entry count, least recently used out first, whose entries each expire after
 * their own time to live. Map-based: a `Map` iterates in insertion order, so re-inserting an entry
 * on every hit keeps the least recently used one first.
 */
export class ExpiringLru<V> {
  private readonly entries = new Map<string, { value: V; until: number }>();

  constructor(
    private readonly opts: {
      /** Most entries held; inserting one more drops the least recently used. */
      maxEntries: number;
      /** The clock, in ms (tests inject one). */
      now?: () => number;
    },
  ) {
    if (!Number.isInteger(opts.maxEntries) || opts.maxEntries < 1) {
      throw new RangeError(`maxEntries must be a positive integer, got ${opts.maxEntries}`);
    }
  }

  get size(): number {
    return this.entries.size;
  }

  /** The live value for `key` (marked most recently used), or undefined when absent or expired. */
  get(key: string): { value: V } | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (entry.until <= this.now()) return undefined;
    this.entries.set(key, entry);
    return { value: entry.value };
  }

  /** Holds `value` for `ttlMs`; drops the least recently used entries beyond `maxEntries`. */
  set(key: string, value: V, ttlMs: number): void {
    this.entries.delete(key);
    this.entries.set(key, { value, until: this.now() + ttlMs });
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.opts.maxEntries) break;
      this.entries.delete(oldest);
    }
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  /** Forgets every entry. */
  clear(): void {
    this.entries.clear();
  }

  private now(): number {
    return this.opts.now ? this.opts.now() : Date.now();
  }
}
