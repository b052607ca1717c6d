import type { NewEvent } from "@gigafactory/schema";
import { describe, expect, it } from "vitest";
import { EventBatcher } from "./event-batcher.js";

describe("EventBatcher", () => {
  it("while a send hangs, holds a bounded buffer: drops the oldest log lines behind a counted marker, never other events", async () => {
    const sent: NewEvent[][] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const batcher = new EventBatcher({
      send: async (events) => {
        sent.push(events);
        await gate;
      },
      maxBuffered: 4,
      flushMs: 1,
    });
    batcher.push({ type: "log", data: { line: "first" } });
    const flushing = batcher.flush();
    batcher.push({ type: "message", data: { text: "kept" } });
    for (let i = 1; i <= 8; i++) batcher.push({ type: "log", data: { line: `line ${i}` } });
    batcher.push({ type: "checkpoint", data: { wipCommit: "abc" } });
    release();
    await flushing;
    await batcher.flush();

    const all = sent.flat().map((event) => ({ type: event.type, data: event.data }));
    expect(all[0]).toEqual({ type: "log", data: { line: "first" } });
    expect(all.filter((event) => event.type === "message")).toEqual([{ type: "message", data: { text: "kept" } }]);
    expect(all.filter((event) => event.type === "checkpoint")).toHaveLength(1);
    const marker = all.find((event) => event.type === "dropped");
    const logs = all.filter((event) => event.type === "log").map((event) => event.data.line);
    expect(marker?.data.count).toBe(batcher.dropped);
    expect(batcher.dropped).toBeGreaterThan(0);
    // every line is either sent or counted, and the newest ones are the ones kept
    expect(logs.length - 1 + batcher.dropped).toBe(8);
    expect(logs.at(-1)).toBe("line 8");
    expect(all.length - 1).toBeLessThanOrEqual(4);
  });

  it("a failed send stops it and flush rejects with the failure", async () => {
    const batcher = new EventBatcher({
      send: async () => {
        throw new Error("refused");
      },
    });
    batcher.push({ type: "log", data: { line: "x" } });
    await expect(batcher.flush()).rejects.toThrow("refused");
  });
});
