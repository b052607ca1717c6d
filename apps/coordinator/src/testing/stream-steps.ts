import { expect, vi } from "vitest";

/** What a finished stream gives. */
export const END = "end" as const;

/**
 * Steps an async generator under fake timers (`vi.useFakeTimers` faking `setTimeout` and `Date`,
 * not `setImmediate`): `next` lets `ms` of fake time pass and requires an item (or the end) by
 * then; `waiting` requires that nothing came within `ms` and returns `still` and `settle` to let
 * time run on.
 */
export function stepper<T, R>(stream: AsyncIterator<T>, view: (item: T) => R) {
  async function next(ms = 0): Promise<R | typeof END> {
    const result = stream.next();
    await vi.advanceTimersByTimeAsync(ms);
    const settled = await Promise.race([result, new Promise<"pending">((resolve) => setImmediate(resolve, "pending"))]);
    if (settled === "pending") throw new Error(`the stream was still waiting after ${ms} ms`);
    return settled.done ? END : view(settled.value);
  }

  async function waiting(ms: number): Promise<{
    /** Lets `more` fake time pass and requires that nothing came yet. */
    still: (more: number) => Promise<void>;
    /** Lets `more` fake time pass and requires what came by then. */
    settle: (more: number) => Promise<R | typeof END>;
  }> {
    const result = stream.next();
    let settled = false;
    void result.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    await vi.advanceTimersByTimeAsync(ms);
    expect(settled, `the stream gave something within ${ms} ms`).toBe(false);
    return {
      still: async (more) => {
        await vi.advanceTimersByTimeAsync(more);
        await new Promise((resolve) => setImmediate(resolve));
        expect(settled, `the stream gave something within ${more} ms more`).toBe(false);
      },
      settle: async (more) => {
        await vi.advanceTimersByTimeAsync(more);
        await new Promise((resolve) => setImmediate(resolve));
        expect(settled, `the stream was still waiting ${more} ms later`).toBe(true);
        const item = await result;
        return item.done ? END : view(item.value);
      },
    };
  }

  return { next, waiting };
}
