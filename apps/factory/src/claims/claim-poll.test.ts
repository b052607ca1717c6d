import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CLAIM_POLL_BACKOFF_MAX, CLAIM_POLL_JITTER } from "../options.js";
import { ClaimPoll } from "./claim-poll.js";

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

/** A poll whose claims come from `answers` (then 0), recording when each poll ran. */
function polling(answers: number[], random = () => 0.5) {
  const at: number[] = [];
  const poll = new ClaimPoll({
    intervalMs: 1_000,
    random,
    poll: async () => {
      at.push(Date.now());
      // a poll that claims jobs resets the poll, as the daemon's claim loop does
      if ((answers.shift() ?? 0) > 0) poll.reset();
    },
  });
  return { poll, at, gaps: () => at.map((time, i) => time - (at[i - 1] ?? 0)) };
}

describe("the claim poll", () => {
  it("backs off while polls find nothing, doubling up to its cap, and comes back after a poll that claims", async () => {
    const { poll, gaps } = polling([0, 0, 0, 0, 0, 1, 0]);
    poll.start();
    await vi.advanceTimersByTimeAsync(60_000);
    poll.stop();
    const cap = 1_000 * CLAIM_POLL_BACKOFF_MAX;
    expect(gaps().slice(0, 8)).toEqual([1_000, 2_000, 4_000, cap, cap, cap, 1_000, 2_000]);
  });

  it("a reset (a nudge, a claim, a freed seat) brings the next poll back to one interval", async () => {
    const { poll, at } = polling([]);
    poll.start();
    await vi.advanceTimersByTimeAsync(1_000 + 2_000 + 4_000); // three empty polls: next in 6 s
    expect(at).toEqual([1_000, 3_000, 7_000]);
    await vi.advanceTimersByTimeAsync(500);
    poll.reset();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(at).toEqual([1_000, 3_000, 7_000, 8_500]);
    poll.stop();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(at).toHaveLength(4);
  });

  it("jitters every wait within its bounds", () => {
    for (const [random, factor] of [
      [0, 1 - CLAIM_POLL_JITTER],
      [0.5, 1],
      [1, 1 + CLAIM_POLL_JITTER],
    ] as const) {
      const { poll } = polling([], () => random);
      expect(poll.nextDelayMs()).toBe(Math.round(1_000 * factor));
    }
  });

  it("keeps polling when a poll fails", async () => {
    let calls = 0;
    const poll = new ClaimPoll({
      intervalMs: 1_000,
      random: () => 0.5,
      poll: async () => {
        calls++;
        throw new Error("unreachable");
      },
    });
    poll.start();
    await vi.advanceTimersByTimeAsync(1_000 + 2_000 + 4_000);
    poll.stop();
    expect(calls).toBe(3);
  });
});
