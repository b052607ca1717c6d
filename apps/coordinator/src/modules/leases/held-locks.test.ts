import { describe, expect, it } from "vitest";
import { HeldLocks } from "./held-locks.js";

/** A `heldNames` read the test answers by hand, counting the reads. */
function reads() {
  const pending: Array<(names: string[]) => void> = [];
  let count = 0;
  return {
    heldNames: () => {
      count++;
      return new Promise<string[]>((resolve) => pending.push(resolve));
    },
    answer: (names: string[]) => pending.shift()?.(names),
    get count() {
      return count;
    },
  };
}

describe("HeldLocks", () => {
  it("answers from what it read until the bound, then reads again", async () => {
    let now = 0;
    const db = reads();
    const locks = new HeldLocks({ locks: db, ttlMs: 1_000, now: () => now });
    const first = locks.names("p");
    db.answer(["a"]);
    expect(await first).toEqual(["a"]);
    now = 999;
    expect(await locks.names("p")).toEqual(["a"]);
    expect(db.count).toBe(1);
    now = 1_000;
    const again = locks.names("p");
    db.answer(["b"]);
    expect(await again).toEqual(["b"]);
    expect(db.count).toBe(2);
  });

  it("adds a lock taken here without a read, and reads again once forgotten", async () => {
    const db = reads();
    const locks = new HeldLocks({ locks: db, ttlMs: 60_000 });
    const first = locks.names("p");
    db.answer([]);
    await first;
    locks.taken("p", "deploy");
    expect(await locks.names("p")).toEqual(["deploy"]);
    expect(db.count).toBe(1);
    locks.forget("p");
    const fresh = locks.names("p");
    db.answer([]);
    expect(await fresh).toEqual([]);
    expect(db.count).toBe(2);
  });

  it("does not keep a read that a take or a forget overlapped", async () => {
    const db = reads();
    const locks = new HeldLocks({ locks: db, ttlMs: 60_000 });
    for (const change of [() => locks.taken("p", "deploy"), () => locks.forget("p")]) {
      const before = db.count;
      const read = locks.names("p");
      change();
      db.answer([]);
      // answered, but stale: the next call reads again
      expect(await read).toEqual([]);
      const next = locks.names("p");
      db.answer(["deploy"]);
      expect(await next).toEqual(["deploy"]);
      expect(db.count).toBe(before + 2);
      locks.forget("p");
    }
  });

  it("keeps products apart, and a bound of 0 reads every time", async () => {
    const db = reads();
    const cached = new HeldLocks({ locks: db, ttlMs: 60_000 });
    const p = cached.names("p");
    db.answer(["a"]);
    await p;
    cached.forget("q");
    expect(await cached.names("p")).toEqual(["a"]);
    const q = cached.names("q");
    db.answer(["z"]);
    expect(await q).toEqual(["z"]);

    const uncached = new HeldLocks({ locks: db, ttlMs: 0 });
    const before = db.count;
    for (let i = 0; i < 2; i++) {
      const read = uncached.names("p");
      db.answer(["a"]);
      await read;
    }
    expect(db.count).toBe(before + 2);
  });
});
