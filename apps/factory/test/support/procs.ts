import { readFileSync } from "node:fs";
import { waitFor } from "./wait.js";

export { processRunning } from "../fixtures/engines/support.js";

/** Whether `process.kill(-pgid, 0)` still finds a process in the group (zombies included). */
export function groupExists(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    if (error instanceof Error && "code" in error && error.code === "ESRCH") return false;
    throw error;
  }
}

/** Whether process `pid` exists at all (a zombie counts: it has not been reaped yet). */
export function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    if (error instanceof Error && "code" in error && error.code === "ESRCH") return false;
    throw error;
  }
}

/**
 * Waits until the group is gone: `process.kill(-pgid, 0)` throws ESRCH. Bounded; orphans killed
 * in a container stay zombies until init reaps them, which some inits do only every few seconds.
 */
export async function waitGroupGone(pgid: number, timeoutMs = 20_000): Promise<void> {
  await waitFor(`process group ${pgid} to be gone (ESRCH)`, () => !groupExists(pgid), { timeoutMs });
}

export async function waitPidGone(pid: number, timeoutMs = 20_000): Promise<void> {
  await waitFor(`process ${pid} to be gone (ESRCH)`, () => !pidExists(pid), { timeoutMs });
}

/** The pids written one per line to `file` (empty when it does not exist yet). */
export function readPids(file: string): number[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return [];
  }
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => /^\d+$/.test(line))
    .map(Number);
}

/** Waits until `file` holds at least `count` pids and returns them. */
export function waitForPids(file: string, count: number, timeoutMs = 30_000): Promise<number[]> {
  return waitFor(
    `${count} pid(s) in ${file}`,
    () => {
      const pids = readPids(file);
      return pids.length >= count ? pids : undefined;
    },
    { timeoutMs },
  );
}

/** Test hygiene: kill a process group that a test left running on purpose (ignores ESRCH). */
export function killGroupQuietly(pgid: number): void {
  try {
    process.kill(-pgid, "SIGKILL");
  } catch {
    // already gone
  }
}
