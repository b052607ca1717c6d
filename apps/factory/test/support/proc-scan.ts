import { readdirSync, readFileSync } from "node:fs";

/**
 * Live (not zombie) processes whose command line contains `marker`: how a contract test finds
 * the real CLI and the commands it started, which run in the sandbox's pid namespace and never
 * report their host pids.
 */
export function processesWith(marker: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").replaceAll("\0", " ");
      const state = /^State:\s+(\S)/m.exec(readFileSync(`/proc/${entry}/status`, "utf8"))?.[1];
      if (state !== "Z" && cmdline.includes(marker) && Number(entry) !== process.pid) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}
