// Spawning uses node:child_process rather than execa on purpose. What this module must do
// is group-wide: kill(-pgid) on abort/timeout and again when the leader exits leaving
// children behind. execa's `timeout`, `cancelSignal` and `forceKillAfterDelay` signal only
// the leader pid, and its promise settles only once stdout/stderr end, which a surviving
// grandchild holding the pipes can postpone forever. We would be bypassing all of it and
// listening to the raw `exit` event anyway, so the plain ChildProcess is the honest tool.
import { spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { DRAIN_WAIT_MS } from "../options.js";
import type { JobSandbox, SandboxExtras } from "../sandbox/sandbox.js";
import { isGroupAlive, killGroup } from "./process-group.js";

export { isGroupAlive, killGroup };

export type OutputStream = "stdout" | "stderr";

export interface OutputLine {
  stream: OutputStream;
  line: string;
}

/** Why the child stopped: on its own, or because we stopped it. */
export type GroupExitReason = "exited" | "timeout" | "cancelled" | "spawn_error";

export interface GroupExit {
  code: number | null;
  signal: string | null;
  reason: GroupExitReason;
  /** For `spawn_error`: what went wrong (e.g. `spawn claude ENOENT`). */
  error?: string;
  durationMs: number;
}

export interface SpawnGroupOptions {
  file: string;
  args: readonly string[];
  cwd: string;
  /** The whole environment of the child; `PATH` in it is used to find `file`. */
  env: Record<string, string>;
  /**
   * The child's stdin, as a file (not a pipe: Node's pipes are sockets, and bash takes a
   * socket on stdin for an rsh session and sources ~/.bashrc). Without it stdin is /dev/null.
   */
  input?: string;
  /** Kill the group after this long. @default no limit */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** SIGTERM first; SIGKILL to whatever is left of the group after this many ms. */
  killGraceMs: number;
  /** Called for every complete line of output, without its line terminator. */
  onLine: (line: OutputLine) => void;
  /** Run inside this job's sandbox (its process group is the sandbox's); without it, unsandboxed. */
  sandbox?: JobSandbox;
  /** What the program needs of the host besides the workspace, when sandboxed. */
  sandboxExtras?: SandboxExtras;
}

export interface GroupProcess {
  /** Also the process group id. Undefined when the program could not be started. */
  pid: number | undefined;
  /** Settles when the leader has exited and no process of its group is left. */
  exit: Promise<GroupExit>;
}

/** Spawns `file` as the leader of a new process group and watches it until the group is gone. */
export function spawnGroup(opts: SpawnGroupOptions): GroupProcess {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  if (opts.signal?.aborted) {
    return { pid: undefined, exit: Promise.resolve({ code: null, signal: null, reason: "cancelled", durationMs: 0 }) };
  }

  const stdin = opts.input === undefined ? "ignore" : inputFile(opts.input);
  let child: ReturnType<typeof spawn>;
  try {
    const command = opts.sandbox
      ? opts.sandbox.wrap({ file: opts.file, args: opts.args, cwd: opts.cwd, env: opts.env }, opts.sandboxExtras)
      : { file: opts.file, args: [...opts.args] };
    child = spawn(command.file, command.args, {
      cwd: opts.cwd,
      env: opts.env,
      detached: true,
      stdio: [stdin, "pipe", "pipe"],
    });
  } catch (err) {
    // Most spawn failures arrive as an `error` event; bad arguments throw right here.
    const error = err instanceof Error ? err.message : String(err);
    return {
      pid: undefined,
      exit: Promise.resolve({ code: null, signal: null, reason: "spawn_error", error, durationMs: elapsed() }),
    };
  } finally {
    if (typeof stdin === "number") closeSync(stdin);
  }
  const pid = child.pid;
  const drained = Promise.all([
    readLines(child.stdout, "stdout", opts.onLine),
    readLines(child.stderr, "stderr", opts.onLine),
  ]);

  const exit = new Promise<GroupExit>((resolve) => {
    let reason: GroupExitReason = "exited";
    let killing: Promise<void> | undefined;
    const stop = (why: GroupExitReason) => {
      if (killing || pid === undefined) return;
      reason = why;
      killing = killGroup(pid, opts.killGraceMs);
    };
    const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => stop("timeout"), opts.timeoutMs);
    const onAbort = () => stop("cancelled");
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    const detach = () => {
      clearTimeout(timer);
      opts.signal?.removeEventListener("abort", onAbort);
    };

    child.on("error", (err) => {
      // After a successful spawn, errors concern kill()/stdio; `exit` still follows.
      if (pid !== undefined) return;
      detach();
      resolve({ code: null, signal: null, reason: "spawn_error", error: err.message, durationMs: elapsed() });
    });
    child.once("exit", (code, signal) => {
      detach();
      void (async () => {
        await killing;
        // The leader is gone; whatever is left in its group is an orphan of this job.
        if (pid !== undefined && isGroupAlive(pid)) await killGroup(pid, opts.killGraceMs);
        if (!(await settlesWithin(drained, DRAIN_WAIT_MS))) {
          child.stdout?.destroy();
          child.stderr?.destroy();
        }
        resolve({ code, signal, reason, durationMs: elapsed() });
      })();
    });
  });
  return { pid, exit };
}

/** An open read descriptor on a file holding `content`; the file itself is already unlinked. */
function inputFile(content: string): number {
  const dir = mkdtempSync(join(tmpdir(), "gf-stdin-"));
  try {
    const path = join(dir, "input");
    writeFileSync(path, content, { mode: 0o600 });
    return openSync(path, "r");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function readLines(stream: Readable | null, name: OutputStream, onLine: (line: OutputLine) => void): Promise<void> {
  if (!stream) return Promise.resolve();
  stream.setEncoding("utf8");
  const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  lines.on("line", (line) => onLine({ stream: name, line }));
  return new Promise((resolve) => {
    lines.once("close", resolve);
    // A read error ends this stream's lines; the exit is still reported by the child.
    stream.on("error", () => resolve());
  });
}

async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
