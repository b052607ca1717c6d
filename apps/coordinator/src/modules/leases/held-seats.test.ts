import { describe, expect, it } from "vitest";
import { HeldSeats } from "./held-seats.js";

describe("HeldSeats", () => {
  it("lets a claim through only while fresh and with room, counting what was leased since", () => {
    let now = 0;
    const seats = new HeldSeats({ ttlMs: 1_000, now: () => now });
    expect(seats.roomFor("p", "f", 1, 2)).toBeUndefined(); // never counted
    seats.counted("p", "f", 0);
    expect(seats.roomFor("p", "f", 2, 2)).toBe(0);
    seats.leased("p", "f", 1);
    expect(seats.roomFor("p", "f", 1, 2)).toBe(1);
    expect(seats.roomFor("p", "f", 2, 2)).toBeUndefined(); // no room: count again
    expect(seats.roomFor("p", "other", 1, 2)).toBeUndefined();
    now = 1_000;
    expect(seats.roomFor("p", "f", 1, 2)).toBeUndefined(); // stale: count again
  });

  it("remembers nothing with a ttl of 0, and at most maxEntries factories", () => {
    const off = new HeldSeats({ ttlMs: 0 });
    off.counted("p", "f", 0);
    expect(off.roomFor("p", "f", 1, 2)).toBeUndefined();
    const small = new HeldSeats({ ttlMs: 60_000, maxEntries: 2 });
    for (const factory of ["a", "b", "c"]) small.counted("p", factory, 0);
    expect(["a", "b", "c"].map((factory) => small.roomFor("p", factory, 1, 1))).toEqual([undefined, 0, 0]);
  });
});
