import { EVENT_LIMITS, type FactoryEventType, type Json } from "@gigafactory/schema";
import type { EngineEvent } from "./engine.js";
import type { OutputStream } from "./process.js";

/**
 * Longest text kept in one event field. An event has at most two long fields, so with
 * ordinary JSON escaping it stays well under the 64 KiB limit; `event()` guards the rest.
 */
export const MAX_EVENT_TEXT = Math.floor(EVENT_LIMITS.maxDataBytes / 8);

/** Cuts `text` to `max` characters, saying how much was left out. */
export function clip(text: string, max = MAX_EVENT_TEXT): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}… [${text.length - max} more characters]`;
}

export function logEvent(stream: OutputStream, line: string): EngineEvent {
  return event("log", { stream, line: clip(line) });
}

export type MessageRole = "assistant" | "thinking" | "reasoning" | "error";

export function messageEvent(role: MessageRole, text: string): EngineEvent {
  return event("message", { role, text: clip(text) });
}

export interface ToolCall {
  id?: string;
  name: string;
  input?: unknown;
  /** What the tool printed, where the engine reports it with the call. */
  output?: string;
  [key: string]: unknown;
}

export function toolCallEvent({ input, output, ...rest }: ToolCall): EngineEvent {
  return event("tool_use", {
    phase: "call",
    ...rest,
    input: clipJson(input),
    output: output === undefined ? undefined : clip(output),
  });
}

export function toolResultEvent(result: { id?: string; isError: boolean; output: unknown }): EngineEvent {
  return event("tool_use", { phase: "result", ...result, output: clipJson(result.output) });
}

/** Keeps small structured values as they are; replaces large ones by their clipped JSON text. */
export function clipJson(value: unknown): unknown {
  if (value === undefined) return undefined;
  if (typeof value === "string") return clip(value);
  const json = JSON.stringify(value) ?? "";
  return json.length <= MAX_EVENT_TEXT ? value : clip(json);
}

/**
 * Builds an event, dropping `undefined` fields (they would be stored as nulls). Data that
 * still exceeds the event limit (heavily escaped text) is replaced by a clipped JSON string.
 */
function event(type: FactoryEventType, data: Json): EngineEvent {
  const defined = Object.fromEntries(Object.entries(data).filter(([, value]) => value !== undefined));
  const json = JSON.stringify(defined);
  if (json.length <= EVENT_LIMITS.maxDataBytes) return { type, at: new Date(), data: defined };
  return { type, at: new Date(), data: { oversized: true, json: json.slice(0, MAX_EVENT_TEXT) } };
}
