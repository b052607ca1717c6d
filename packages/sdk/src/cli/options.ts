import { parseDuration } from "@gigafactory/schema";
import { type Command, InvalidArgumentError } from "commander";
import type { GlobalOptions } from "./context.js";

/** A whole-number option within bounds, e.g. `--limit 20`. */
export function intOption(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || n < min || n > max)
      throw new InvalidArgumentError(`must be a whole number from ${min} to ${max}`);
    return n;
  };
}

/** A duration such as `90s`, `30m`, `1h30m`; kept as the text the apps parse themselves. */
export function durationOption(value: string): string {
  if (parseDuration(value) === undefined)
    throw new InvalidArgumentError("must be a duration such as 90s, 30m, 4h or 1h30m");
  return value;
}

/** `a,b c` → `["a", "b", "c"]`, accumulating over repeated options. */
export function listOption(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(/[\s,]+/).filter(Boolean)];
}

/** The global `--url` / `--token` as seen from any subcommand. */
export function globalsOf(command: Command): GlobalOptions {
  const opts = command.optsWithGlobals<GlobalOptions>();
  return { ...(opts.url ? { url: opts.url } : {}), ...(opts.token ? { token: opts.token } : {}) };
}
