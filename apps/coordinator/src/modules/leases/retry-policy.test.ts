import { describe, expect, it } from "vitest";
import { afterFailedAttempt, backoffMs } from "./retry-policy.js";

describe("backoffMs", () => {
  const opts = { baseMs: 1_000, maxMs: 60_000 };

  it("doubles from the base with each attempt", () => {
    expect([1, 2, 3, 4, 5].map((attempt) => backoffMs(attempt, opts))).toEqual([1_000, 2_000, 4_000, 8_000, 16_000]);
  });

  it("is capped at maxMs", () => {
    expect(backoffMs(7, opts)).toBe(60_000);
    expect(backoffMs(1_000, opts)).toBe(60_000);
  });

  it("treats attempt 0 (never claimed) like the first", () => {
    expect(backoffMs(0, opts)).toBe(1_000);
  });

  it("never exceeds a cap below the base", () => {
    expect(backoffMs(1, { baseMs: 5_000, maxMs: 2_000 })).toBe(2_000);
  });
});

describe("afterFailedAttempt", () => {
  it("goes back to the inbox while attempts remain", () => {
    expect(afterFailedAttempt(1, 3)).toBe("inbox");
    expect(afterFailedAttempt(2, 3)).toBe("inbox");
  });

  it("fails the job on its last attempt", () => {
    expect(afterFailedAttempt(3, 3)).toBe("failed");
    expect(afterFailedAttempt(1, 1)).toBe("failed");
    // an attempt count past the limit (maxAttempts lowered meanwhile) fails too
    expect(afterFailedAttempt(5, 3)).toBe("failed");
  });
});
