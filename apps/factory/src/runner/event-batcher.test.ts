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

  it("cuts batches by bytes as well as by count, in order, and sends an event larger than the bound alone", async () => {
    const sent: NewEvent[][] = [];
    const batcher = new EventBatcher({
      send: async (events) => {
        sent.push(events);
      },
      maxBatch: 100,
      maxBatchBytes: 1_000,
      flushMs: 60_000,
    });
    // each line is 300 bytes of UTF-8 (100 three-byte characters), about 330 with its JSON
    for (let i = 0; i < 7; i++) batcher.push({ type: "log", data: { line: `${i}${"€".repeat(100)}` } });
    batcher.push({ type: "log", data: { line: "x".repeat(5_000) } });
    batcher.push({ type: "log", data: { line: "last" } });
    await batcher.flush();

    const bytes = (batch: NewEvent[]) =>
      batch.reduce((sum, event) => sum + Buffer.byteLength(JSON.stringify(event.data)), 0);
    expect(sent.map((batch) => batch.length)).toEqual([3, 3, 1, 1, 1]);
    for (const batch of sent) if (batch.length > 1) expect(bytes(batch)).toBeLessThanOrEqual(1_000);
    expect(sent.flat().map((event) => String(event.data.line).slice(0, 4))).toEqual([
      "0€€€",
      "1€€€",
      "2€€€",
      "3€€€",
      "4€€€",
      "5€€€",
      "6€€€",
      "xxxx",
      "last",
    ]);
  });
});
