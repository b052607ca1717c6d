import { NewEvent } from "@gigafactory/schema";
import { describe, expect, it } from "vitest";
import { logEvent, MAX_EVENT_TEXT, toolCallEvent } from "./events.js";

describe("event builders", () => {
  it("clip long text and say how much was cut", () => {
    const event = logEvent("stdout", "y".repeat(MAX_EVENT_TEXT + 10));
    expect(String(event.data.line)).toMatch(/… \[10 more characters\]$/);
  });

  it("keep an event within the limit even when its text is heavily escaped", () => {
    const control = "\u0001".repeat(MAX_EVENT_TEXT);
    const event = toolCallEvent({ name: "command_execution", input: control, output: control });
    expect(NewEvent.safeParse(event).success).toBe(true);
    expect(event.data.oversized).toBe(true);
  });

  it("leave out fields that are undefined", () => {
    expect(toolCallEvent({ name: "edit", input: { file: "a.ts" } }).data).toEqual({
      phase: "call",
      name: "edit",
      input: { file: "a.ts" },
    });
  });
});
