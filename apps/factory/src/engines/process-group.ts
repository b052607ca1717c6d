import { readdirSync, readFileSync } from "node:fs";

const POLL_MS = 20;
/** SIGKILL cannot be caught; this only covers the kernel tearing processes down. */
const AFTER_KILL_WAIT_MS = 2_000;

/**
 * SIGTERM to the whole group, then SIGKILL after `graceMs` if anything in it is still alive.
 * Resolves once the group is gone (or, after SIGKILL, once the kernel had a moment).
 */
export async function killGroup(pgid: number, graceMs: number): Promise<void> {
  if (!signalGroup(pgid, "SIGTERM")) return;
  if (await waitForGroupExit(pgid, graceMs)) return;
  signalGroup(pgid, "SIGKILL");
  await waitForGroupExit(pgid, AFTER_KILL_WAIT_MS);
}

/**
 * Whether any process of group `pgid` is still running. `process.kill(-pgid, 0)` answers
 * for the group, but it also succeeds while the only members left are zombies waiting for
 * init to reap them (some inits reap lazily); on Linux those are looked up in /proc and
 * not counted.
 */
export function isGroupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (err) {
    if (errnoCode(err) === "ESRCH") return false;
    if (errnoCode(err) === "EPERM") return true;
    throw err;
  }
  return liveMembers(pgid) !== 0;
}

/** Non-zombie processes in group `pgid` per /proc; -1 when /proc cannot be read. */
function liveMembers(pgid: number): number {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return -1;
  }
  let live = 0;
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // exited while we looked
    }
    // "pid (comm) state ppid pgrp ..."; comm may hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[2]) === pgid && fields[0] !== "Z" && fields[0] !== "X") live++;
  }
  return live;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (err) {
    if (errnoCode(err) === "ESRCH") return false;
    throw err;
  }
}

async function waitForGroupExit(pgid: number, withinMs: number): Promise<boolean> {
  const deadline = performance.now() + withinMs;
  for (;;) {
    if (!isGroupAlive(pgid)) return true;
    if (performance.now() >= deadline) return false;
    await sleep(POLL_MS);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function errnoCode(err: unknown): string | undefined {
  return err instanceof Error && "code" in err && typeof err.code === "string" ? err.code : undefined;
}
