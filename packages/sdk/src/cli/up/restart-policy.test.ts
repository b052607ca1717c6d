import { describe, expect, it } from "vitest";
import { RESTART, RestartPolicy } from "./restart-policy.js";

describe("RestartPolicy", () => {
  it("doubles the delay from the first one up to the cap, then gives up after maxExits within the window", () => {
    const policy = new RestartPolicy({ ...RESTART, firstDelayMs: 1_000, maxDelayMs: 3_000, maxExits: 4 });
    expect(policy.exited(0)).toEqual({ restartInMs: 1_000 });
    expect(policy.exited(10)).toEqual({ restartInMs: 2_000 });
    expect(policy.exited(20)).toEqual({ restartInMs: 3_000 });
    expect(policy.exited(30)).toEqual({ giveUp: "it exited 4 times within 300s" });
  });

  it("forgets exits older than the window: a process that stayed up starts over at the first delay", () => {
    const policy = new RestartPolicy();
    expect(policy.exited(0)).toEqual({ restartInMs: RESTART.firstDelayMs });
    expect(policy.exited(1)).toEqual({ restartInMs: RESTART.firstDelayMs * 2 });
    expect(policy.exited(RESTART.windowMs + 2)).toEqual({ restartInMs: RESTART.firstDelayMs });
  });
});
