import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { EVENT_LIMITS, eventText, JobEvent, NewEvent } from "./event.js";

function rejectedAt(schema: z.ZodType, value: unknown): PropertyKey[][] {
  const result = schema.safeParse(value);
  if (result.success) throw new Error(`expected ${JSON.stringify(value).slice(0, 200)} to be rejected`);
  return result.error.issues.map((issue) => issue.path);
}

const event: JobEvent = {
  productId: "acme",
  jobId: "job-1",
  seq: 1,
  epoch: 0,
  type: "created",
  at: new Date("2026-01-02T03:04:05Z"),
  data: { by: "service" },
};

describe("JobEvent", () => {
  it("parses a lifecycle event and a log event", () => {
    expect(JobEvent.parse(event)).toEqual(event);
    const log = { ...event, seq: 2, epoch: 1, type: "log", data: { stream: "stdout", text: "hello\n" } };
    expect(JobEvent.parse(log)).toEqual(log);
  });

  it("refuses seq 0 (sequences start at 1)", () => {
    expect(rejectedAt(JobEvent, { ...event, seq: 0 })).toEqual([["seq"]]);
  });

  it("refuses an unknown type at type", () => {
    expect(rejectedAt(JobEvent, { ...event, type: "stdout" })).toEqual([["type"]]);
  });

  it("refuses a negative epoch", () => {
    expect(rejectedAt(JobEvent, { ...event, epoch: -1 })).toEqual([["epoch"]]);
  });

  it("refuses data that is not an object", () => {
    expect(rejectedAt(JobEvent, { ...event, data: "text" })).toEqual([["data"]]);
  });
});

describe("NewEvent", () => {
  it("coerces an ISO time and accepts none", () => {
    expect(NewEvent.parse({ type: "log", at: "2026-01-02T03:04:05Z", data: {} }).at).toEqual(
      new Date("2026-01-02T03:04:05Z"),
    );
    expect(NewEvent.parse({ type: "log", data: {} }).at).toBeUndefined();
  });

  it("refuses a lifecycle type: those are the coordinator's to write", () => {
    expect(rejectedAt(NewEvent, { type: "completed", data: {} })).toEqual([["type"]]);
  });

  it("accepts data of exactly the limit", () => {
    // {"t":"…"} is 8 bytes around the text
    const data = { t: "x".repeat(EVENT_LIMITS.maxDataBytes - 8) };
    expect(new TextEncoder().encode(JSON.stringify(data)).length).toBe(EVENT_LIMITS.maxDataBytes);
    expect(NewEvent.safeParse({ type: "log", data }).success).toBe(true);
  });

  it("refuses data over the limit at data, pointing to artifacts", () => {
    const result = NewEvent.safeParse({ type: "log", data: { t: "x".repeat(EVENT_LIMITS.maxDataBytes) } });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.path)).toEqual([["data"]]);
    expect(result.error?.issues[0]?.message).toMatch(/artifact/);
  });

  it("counts the limit in UTF-8 bytes, not characters", () => {
    // 30,000 three-byte characters: 30,008 UTF-16 units but 90,008 bytes
    expect(rejectedAt(NewEvent, { type: "log", data: { t: "€".repeat(30_000) } })).toEqual([["data"]]);
  });
});

describe("eventText", () => {
  it("is a log event's line, a message's text, else the data as JSON", () => {
    expect(eventText({ data: { stream: "stdout", line: "hello" } })).toBe("hello");
    expect(eventText({ data: { role: "assistant", text: "done" } })).toBe("done");
    expect(eventText({ data: { line: "first", text: "second" } })).toBe("first");
    expect(eventText({ data: { phase: "call", name: "Bash" } })).toBe('{"phase":"call","name":"Bash"}');
  });
});
