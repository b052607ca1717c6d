import { readdirSync, readFileSync } from "node:fs";
import { AFTER_KILL_WAIT_MS, POLL_MS } from "../options.js";

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

/** SIGKILL to the whole group at once, synchronously (a daemon about to exit cannot wait out a grace period). */
export function killGroupNow(pgid: number): void {
  signalGroup(pgid, "SIGKILL");
}

/**
 * What tells an engine's process group from a later one that reuses its id: the boot and the
 * leader's start time (Linux /proc; both absent where there is no /proc).
 */
export interface GroupIdentity {
  pgid: number;
  /** Field 22 of /proc/<pgid>/stat: clock ticks after boot when the leader started. */
  startTime?: string;
  /** /proc/sys/kernel/random/boot_id. */
  bootId?: string;
}

/** The identity of group `pgid`, read while its leader runs. */
export function groupIdentity(pgid: number): GroupIdentity {
  const startTime = processStartTime(pgid);
  const bootId = readBootId();
  return { pgid, ...(startTime === undefined ? {} : { startTime }), ...(bootId === undefined ? {} : { bootId }) };
}

/**
 * Whether `recorded` still names the same process group, so killing `-pgid` cannot hit a
 * stranger that got the id after a reboot or a pid wrap-around. Where /proc is missing there is
 * nothing to compare, and the group is taken to be the same one.
 */
export function isSameGroup(recorded: GroupIdentity): boolean {
  const bootId = readBootId();
  if (bootId === undefined) return true;
  if (recorded.bootId !== bootId) return false;
  // recorded with /proc present but no start time: the leader had already gone; nothing to check it by
  if (recorded.startTime === undefined) return false;
  const startTime = processStartTime(recorded.pgid);
  // The leader is gone but the group may live on. Its id stays allocated while any member uses it
  // as pgid, so a live group with this id is still the engine's.
  if (startTime === undefined) return true;
  return startTime === recorded.startTime;
}

function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // fields after "pid (comm) ": state is field 3, so field 22 (starttime) is index 19
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

function readBootId(): string | undefined {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
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

/**
 * Polls until the group is gone: first after 1 ms, doubling up to {@link POLL_MS}. Most groups
 * are already on their way out (a sandbox's namespace being torn down after its program ended),
 * and a job should not wait a whole poll interval for them.
 */
async function waitForGroupExit(pgid: number, withinMs: number): Promise<boolean> {
  const deadline = performance.now() + withinMs;
  for (let wait = 1; ; wait = Math.min(wait * 2, POLL_MS)) {
    if (!isGroupAlive(pgid)) return true;
    if (performance.now() >= deadline) return false;
    await sleep(wait);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function errnoCode(err: unknown): string | undefined {
  return err instanceof Error && "code" in err && typeof err.code === "string" ? err.code : undefined;
}
