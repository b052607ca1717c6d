import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { open, stat } from "node:fs/promises";

/** The preload that stops a child when `gf` goes away (see orphan-guard.ts). */
const ORPHAN_GUARD = new URL("./orphan-guard.js", import.meta.url).href;
const POLL_MS = 50;

export interface ChildAppOptions {
  /** For messages: `coordinator`, `factory local-1`, `mongodb`. */
  label: string;
  /** The script `node` runs. */
  script: string;
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /**
   * The child writes its stdout and stderr straight into this file (appending). Without it they
   * go to our terminal. A file, not a pipe through us: if `gf` dies, the child's logging must not
   * fail (a logger writing to a dead pipe can spin forever).
   */
  logFile?: string;
  /** Resolve `start` once the log gets a line containing `"msg":"<readyMsg>"` (needs `logFile`). */
  readyMsg?: string;
  /** @default 60000 */
  readyTimeoutMs?: number;
  /** Stops waiting for the ready line (and stops the child). */
  signal?: AbortSignal;
}

export type ChildExit = { code: number | null; signal: NodeJS.Signals | null };

/**
 * One app process started by `gf`: in a process group of its own, so a Ctrl-C in the terminal
 * reaches `gf` alone and `gf` decides who stops when; with the orphan guard preloaded.
 */
export class ChildApp {
  /** The parsed ready line (e.g. `{ msg, url }`), or `{}` without `readyMsg`. */
  ready: Record<string, unknown> = {};
  readonly exited: Promise<ChildExit>;
  private stopping: Promise<ChildExit> | undefined;

  private constructor(
    readonly label: string,
    readonly child: ChildProcess,
    readonly logFile: string | undefined,
  ) {
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => resolve({ code, signal }));
      child.once("error", () => resolve({ code: null, signal: null }));
    });
    // EPIPE once the child is gone: its exit is what matters
    child.stdin?.on("error", () => {});
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  static async start(opts: ChildAppOptions): Promise<ChildApp> {
    let out: number | "inherit" = "inherit";
    let offset = 0;
    if (opts.logFile) {
      out = openSync(opts.logFile, "a", 0o600);
      offset = (await stat(opts.logFile)).size;
    }
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, ["--import", ORPHAN_GUARD, opts.script], {
        env: opts.env,
        ...(opts.cwd ? { cwd: opts.cwd } : {}),
        detached: true,
        stdio: ["pipe", out, out],
      });
    } finally {
      if (typeof out === "number") closeSync(out);
    }
    const app = new ChildApp(opts.label, child, opts.logFile);
    if (!opts.readyMsg || !opts.logFile) return app;
    try {
      const line = await app.waitForLine(
        `"msg":"${opts.readyMsg}"`,
        offset,
        opts.readyTimeoutMs ?? 60_000,
        opts.signal,
      );
      app.ready = parseReadyLine(line);
    } catch (error) {
      await app.stop({ graceMs: 5_000 });
      const tail = await app.output();
      throw new Error(`${(error as Error).message}${tail ? `\n--- last lines of ${opts.logFile} ---\n${tail}` : ""}`, {
        cause: error,
      });
    }
    return app;
  }

  /** The last lines of the child's log, for error messages. */
  async output(lines = 30): Promise<string> {
    if (!this.logFile) return "";
    const file = await open(this.logFile, "r").catch(() => undefined);
    if (!file) return "";
    try {
      const { size } = await file.stat();
      const length = Math.min(size, 16_384);
      const { buffer } = await file.read(Buffer.alloc(length), 0, length, size - length);
      return buffer.toString("utf8").trimEnd().split("\n").slice(-lines).join("\n");
    } finally {
      await file.close();
    }
  }

  /** Sends a signal to the child (not to its whole group: the app stops its own children). */
  signal(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  /** Asks the child to stop (`signal`), then SIGKILLs it after `graceMs`. Resolves once it is gone. */
  stop(opts: { signal?: NodeJS.Signals; graceMs: number }): Promise<ChildExit> {
    this.stopping ??= (async () => {
      if (!this.running) return this.exited;
      this.signal(opts.signal ?? "SIGTERM");
      let timer: NodeJS.Timeout | undefined;
      const killed = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          this.signal("SIGKILL");
          resolve();
        }, opts.graceMs);
      });
      await Promise.race([this.exited, killed]);
      clearTimeout(timer);
      return this.exited;
    })();
    return this.stopping;
  }

  /** Reads the log from `offset` as it grows until a line contains `needle`. */
  private async waitForLine(
    needle: string,
    offset: number,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<string> {
    if (!this.logFile) throw new Error(`${this.label}: no log file to watch`);
    let exit: ChildExit | undefined;
    void this.exited.then((info) => (exit = info));
    const file = await open(this.logFile, "r");
    try {
      let position = offset;
      let partial = "";
      const deadline = Date.now() + timeoutMs;
      const chunk = Buffer.alloc(64 * 1024);
      // bounded by the deadline
      while (Date.now() < deadline) {
        const { bytesRead } = await file.read(chunk, 0, chunk.length, position);
        if (bytesRead > 0) {
          position += bytesRead;
          const lines = (partial + chunk.subarray(0, bytesRead).toString("utf8")).split("\n");
          partial = lines.pop() ?? "";
          const hit = lines.find((line) => line.includes(needle));
          if (hit !== undefined) return hit;
          continue;
        }
        if (signal?.aborted) throw new Error(`${this.label}: start interrupted`);
        if (exit) throw new Error(`${this.label} exited (${exit.signal ?? `code ${exit.code}`}) before it was ready`);
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
      throw new Error(`${this.label} was not ready within ${Math.round(timeoutMs / 1000)}s`);
    } finally {
      await file.close();
    }
  }
}

function parseReadyLine(line: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(line.slice(line.indexOf("{")));
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
