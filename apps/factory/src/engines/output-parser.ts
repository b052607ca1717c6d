import type { Insights } from "@gigafactory/schema";
import { z } from "zod";
import type { EngineEvent } from "./engine.js";
import type { OutputStream } from "./process.js";

/** What an engine's whole output amounted to. */
export interface ParsedOutput {
  /** Everything the output told us; `durationMs` is added by the runner. */
  insights: Insights;
  /**
   * Set when the output itself says the run failed or is incomplete (an error result,
   * no final result line); the run is then a failure even if the program exited 0.
   */
  error?: string;
}

/**
 * Turns an engine's output, line by line, into events and, at the end, into insights.
 * Implementations are pure state machines: no I/O, no clock beyond event timestamps,
 * and they never throw on bad input (bad lines become `log` events).
 */
export interface OutputParser {
  line(stream: OutputStream, line: string): EngineEvent[];
  finish(): ParsedOutput;
}

/** Runs a parser over captured output, as if the program had printed `stdout` (and `stderr`). */
export function parseText(parser: OutputParser, stdout: string, stderr = ""): ParsedOutput & { events: EngineEvent[] } {
  const events: EngineEvent[] = [];
  for (const [stream, text] of [
    ["stdout", stdout],
    ["stderr", stderr],
  ] as const) {
    if (text === "") continue;
    const lines = text.split(/\r?\n/);
    if (lines.at(-1) === "") lines.pop();
    for (const line of lines) events.push(...parser.line(stream, line));
  }
  return { ...parser.finish(), events };
}

/** A count as insights want it: a non-negative integer, or absent. */
export function count(value: number | undefined): number | undefined {
  return value === undefined || !Number.isFinite(value) ? undefined : Math.max(0, Math.round(value));
}

const JsonObject = z.record(z.string(), z.unknown());

/** Parses one line as a JSON object; anything else is `undefined`. */
export function jsonObject(line: string): Record<string, unknown> | undefined {
  const trimmed = line.trim();
  if (!trimmed.startsWith("{")) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch {
    return undefined;
  }
  const object = JsonObject.safeParse(value);
  return object.success ? object.data : undefined;
}

/** Drops absent fields, so results compare and serialise cleanly. */
export function withoutUndefined(insights: Insights): Insights {
  return Object.fromEntries(Object.entries(insights).filter(([, value]) => value !== undefined));
}
