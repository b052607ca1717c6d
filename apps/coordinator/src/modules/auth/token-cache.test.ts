import { describe, expect, it } from "vitest";
import { ExpiringLru } from "./token-cache.js";

function clock(start = 0) {
  let now = start;
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe("ExpiringLru", () => {
  it("holds at most maxEntries, dropping the least recently used", () => {
    const lru = new ExpiringLru<number>({ maxEntries: 3 });
    for (const key of ["a", "b", "c"]) lru.set(key, 1, 60_000);
    expect(lru.get("a")).toEqual({ value: 1 }); // a is now the most recently used
    lru.set("d", 4, 60_000);
    expect(lru.size).toBe(3);
    expect(lru.get("b")).toBeUndefined();
    expect(["a", "c", "d"].map((key) => lru.get(key)?.value)).toEqual([1, 1, 4]);
  });

  it("forgets an entry once its own time to live has passed", () => {
    const time = clock(1_000);
    const lru = new ExpiringLru<string | null>({ maxEntries: 10, now: time.now });
    lru.set("short", null, 1_000);
    lru.set("long", "kept", 10_000);
    time.advance(999);
    expect(lru.get("short")).toEqual({ value: null });
    time.advance(1);
    expect(lru.get("short")).toBeUndefined();
    expect(lru.get("long")).toEqual({ value: "kept" });
    expect(lru.size).toBe(1);
  });

  it("re-setting a key replaces its value and expiry without growing", () => {
    const time = clock();
    const lru = new ExpiringLru<number>({ maxEntries: 2, now: time.now });
    lru.set("a", 1, 10);
    lru.set("a", 2, 1_000);
    time.advance(500);
    expect(lru.get("a")).toEqual({ value: 2 });
    expect(lru.size).toBe(1);
  });

  it("refuses a bound that is not a positive integer", () => {
    expect(() => new ExpiringLru({ maxEntries: 0 })).toThrow(RangeError);
  });
});
