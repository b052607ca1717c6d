import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { FAKES_DIR } from "../fixtures/engines/support.js";
import type { Cluster } from "./cluster.js";
import { waitFor } from "./wait.js";

const MAIN = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "dist", "main.js");

export interface FactoryOptions {
  factoryId: string;
  /** @default "shell" */
  engines?: string;
  /** @default 2 */
  seats?: number;
  /** Reuse a work dir (a restart of the same factory); otherwise a fresh temp dir, removed on stop. */
  workDir?: string;
  /** @default "2s" */
  drainGrace?: string;
  /** @default "300ms" */
  killGrace?: string;
  /** @default "500ms" */
  claimPoll?: string;
  /** @default "500ms" */
  heartbeat?: string;
  /**
   * Run engines and gates in the sandbox (bubblewrap), as a factory does by default. Tests whose
   * engines write host pids to files outside their workspace turn it off.
   * @default true
   */
  sandbox?: boolean;
  /** Extra environment (e.g. FAKE_MODE for the fake engines). */
  env?: Record<string, string>;
  readyTimeoutMs?: number;
  /** Return at once instead of waiting for the ready line (a factory started before its coordinator). @default true */
  waitReady?: boolean;
}

/** A running `gf-factory` process (the built dist/main.js). */
export interface FactoryProcess {
  factoryId: string;
  pid: number;
  workDir: string;
  child: ChildProcess;
  /** Every stdout/stderr line so far (pino JSON lines and the ready line). */
  output: string[];
  /** Resolves with the exit code (null when killed by a signal) once the process is gone. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Waits for a log line whose parsed JSON satisfies `match`; returns it. */
  waitForLog(
    what: string,
    match: (entry: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** Sends `signal` (default SIGTERM) and waits for the exit; SIGKILL after `timeoutMs`. Idempotent. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The last lines of output, for failure messages. */
  tail(lines?: number): string;
  /** `await using factory = await startFactory(…)`: stops it (SIGTERM) at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Where a factory connects: a {@link Cluster}, or nginx in front of several coordinators. */
export type CoordinatorAddress = Pick<Cluster, "url" | "factoryToken">;

const running = new Set<FactoryProcess>();

/** The environment a factory process gets: PATH with the fake engines first, GF_* settings, nothing else of ours. */
function factoryEnv(cluster: CoordinatorAddress, opts: FactoryOptions, workDir: string): Record<string, string> {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(
      (entry): entry is [string, string] =>
        entry[1] !== undefined && !entry[0].startsWith("GF_") && !entry[0].startsWith("VITEST"),
    ),
  );
  return {
    ...base,
    PATH: `${FAKES_DIR}:${process.env.PATH ?? "/usr/bin:/bin"}`,
    GF_URL: cluster.url,
    GF_TOKEN: cluster.factoryToken,
    GF_FACTORY_ID: opts.factoryId,
    GF_ENGINES: opts.engines ?? "shell",
    GF_SEATS: String(opts.seats ?? 2),
    GF_WORK_DIR: workDir,
    GF_DRAIN_GRACE: opts.drainGrace ?? "2s",
    GF_KILL_GRACE: opts.killGrace ?? "300ms",
    GF_CLAIM_POLL: opts.claimPoll ?? "500ms",
    GF_HEARTBEAT: opts.heartbeat ?? "500ms",
    GF_LOG_LEVEL: "info",
    ...(opts.sandbox === false ? { GF_SANDBOX: "off" } : {}),
    ...opts.env,
  };
}

/** Starts a factory process and waits for its `GF_FACTORY_READY` line. */
export async function startFactory(cluster: CoordinatorAddress, opts: FactoryOptions): Promise<FactoryProcess> {
  const ownsWorkDir = opts.workDir === undefined;
  const workDir = opts.workDir ?? mkdtempSync(join(tmpdir(), `gf-factory-${opts.factoryId}-`));
  const child = spawn(process.execPath, [MAIN], {
    env: factoryEnv(cluster, opts, workDir),
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (child.pid === undefined) throw new Error("factory process did not start");
  const pid = child.pid;
  const output: string[] = [];
  const listeners = new Set<(line: string) => void>();
  const onLine = (line: string) => {
    output.push(line);
    if (output.length > 5_000) output.shift();
    for (const listener of listeners) listener(line);
  };
  createInterface({ input: child.stdout }).on("line", onLine);
  createInterface({ input: child.stderr }).on("line", onLine);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal }));
  });
  const parsed = (line: string): Record<string, unknown> | undefined => {
    try {
      const value: unknown = JSON.parse(line);
      return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  };
  const tail = (lines = 40) =>
    `--- factory ${opts.factoryId} (pid ${pid}) output ---\n${output.slice(-lines).join("\n")}`;

  let stopping: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;
  const factory: FactoryProcess = {
    factoryId: opts.factoryId,
    pid,
    workDir,
    child,
    output,
    exited,
    tail,
    waitForLog: (what, match, timeoutMs = 30_000) =>
      waitFor(
        `factory ${opts.factoryId}: ${what}`,
        () => {
          for (const line of output) {
            const entry = parsed(line);
            if (entry && match(entry)) return entry;
          }
          return undefined;
        },
        { timeoutMs, describe: () => tail() },
      ),
    stop(signal = "SIGTERM", timeoutMs = 20_000) {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          // a stopped (SIGSTOP) process must be continued to act on SIGTERM
          process.kill(pid, "SIGCONT");
          child.kill(signal);
          const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
          try {
            return await exited;
          } finally {
            clearTimeout(timer);
            running.delete(factory);
            if (ownsWorkDir) rmSync(workDir, { recursive: true, force: true });
          }
        }
        running.delete(factory);
        if (ownsWorkDir) rmSync(workDir, { recursive: true, force: true });
        return exited;
      })();
      return stopping;
    },
    async [Symbol.asyncDispose]() {
      await factory.stop();
    },
  };
  running.add(factory);
  if (opts.waitReady === false) return factory;

  try {
    await Promise.race([
      waitFor("GF_FACTORY_READY", () => output.some((line) => line.includes('"msg":"GF_FACTORY_READY"')), {
        timeoutMs: opts.readyTimeoutMs ?? 30_000,
        describe: () => tail(),
      }),
      exited.then(({ code, signal }) => {
        throw new Error(`factory ${opts.factoryId} exited (${code ?? signal}) before it was ready\n${tail()}`);
      }),
    ]);
  } catch (error) {
    await factory.stop("SIGKILL");
    throw error;
  }
  return factory;
}

/** Stops every factory a test started and did not stop (for afterEach). */
export async function stopAllFactories(): Promise<void> {
  await Promise.all([...running].map((factory) => factory.stop("SIGKILL")));
}
