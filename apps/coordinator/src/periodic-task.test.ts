import pino from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { PeriodicTask } from "./periodic-task.js";

describe("PeriodicTask", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("runs one pass at a time: a tick that finds a pass running is skipped", async () => {
    let started = 0;
    let finish: () => void = () => undefined;
    const task = new PeriodicTask({
      everyMs: 100,
      logger: pino({ level: "silent" }),
      failure: "failed",
      run: () => {
        started++;
        return new Promise<void>((resolve) => {
          finish = resolve;
        });
      },
    });
    task.start();
    await vi.advanceTimersByTimeAsync(350);
    expect(started).toBe(1);
    finish();
    await vi.advanceTimersByTimeAsync(100);
    expect(started).toBe(2);
    finish();
    await task.close();
  });

  it("logs a failed pass and runs again at the next tick", async () => {
    const logger = pino({ level: "silent" });
    const errors = vi.spyOn(logger, "error");
    let calls = 0;
    const task = new PeriodicTask({
      everyMs: 100,
      logger,
      failure: "sweep failed",
      run: async () => {
        calls++;
        if (calls === 1) throw new Error("boom");
      },
    });
    task.start();
    await vi.advanceTimersByTimeAsync(200);
    expect(calls).toBe(2);
    expect(errors).toHaveBeenCalledTimes(1);
    expect(errors.mock.calls[0]?.[1]).toBe("sweep failed");
    await task.close();
  });

  it("close() waits for the pass in flight and stops the timer", async () => {
    let done = false;
    let calls = 0;
    const task = new PeriodicTask({
      everyMs: 100,
      logger: pino({ level: "silent" }),
      failure: "failed",
      run: async () => {
        calls++;
        await new Promise((resolve) => setTimeout(resolve, 50));
        done = true;
      },
    });
    task.start();
    await vi.advanceTimersByTimeAsync(100);
    const closed = task.close();
    await vi.advanceTimersByTimeAsync(50);
    await closed;
    expect(done).toBe(true);
    await vi.advanceTimersByTimeAsync(500);
    expect(calls).toBe(1);
  });
});
