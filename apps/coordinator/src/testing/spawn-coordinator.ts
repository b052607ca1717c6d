import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const MAIN = join(dirname(fileURLToPath(import.meta.url)), "..", "main.js");

export interface SpawnedCoordinator {
  url: string;
  adminToken: string;
  dataDir: string;
  dbName: string;
  process: ChildProcess;
  /** Output lines (JSON logs) seen so far, for debugging failed tests. */
  output: string[];
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** `await using coordinator = await spawnCoordinator(…)`: stops it (SIGTERM) at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void>;
}

export interface SpawnCoordinatorOptions {
  mongoUrl: string;
  dbName: string;
  /** Extra environment, e.g. `{ GF_LEASE_TTL: "1s" }`. */
  env?: Record<string, string>;
  /** Reuse a data dir (and so its admin token) — for a second coordinator on the same database. */
  dataDir?: string;
  readyTimeoutMs?: number;
}

/**
 * Starts a real coordinator process (the built `dist/main.js`) on a free port and waits for
 * its ready line. For tests and local tooling; `stop()` is idempotent, and the result is
 * async-disposable (`await using`).
 */
export async function spawnCoordinator(opts: SpawnCoordinatorOptions): Promise<SpawnedCoordinator> {
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), "gf-coordinator-")));
  const ownsDataDir = !opts.dataDir;
  const child = spawn(process.execPath, [MAIN], {
    env: {
      ...process.env,
      GF_PORT: "0",
      GF_HOST: "127.0.0.1",
      GF_MONGO_URL: opts.mongoUrl,
      GF_DB_NAME: opts.dbName,
      GF_DATA_DIR: dataDir,
      GF_LOG_LEVEL: "warn",
      ...opts.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`coordinator not ready in time:\n${output.join("\n")}`)),
      opts.readyTimeoutMs ?? 30_000,
    );
    const onLine = (line: string) => {
      output.push(line);
      if (output.length > 2_000) output.shift();
      if (line.includes("GF_COORDINATOR_READY")) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { url: string }).url);
      }
    };
    createInterface({ input: child.stdout }).on("line", onLine);
    createInterface({ input: child.stderr }).on("line", onLine);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`coordinator exited with ${code} before it was ready:\n${output.join("\n")}`));
    });
  });
  const adminToken = (await readFile(join(dataDir, "admin.token"), "utf8")).trim();
  let stopped: Promise<number | null> | undefined;
  const spawned: SpawnedCoordinator = {
    url,
    adminToken,
    dataDir,
    dbName: opts.dbName,
    process: child,
    output,
    stop(signal = "SIGTERM") {
      stopped ??= new Promise<number | null>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
        const kill = setTimeout(() => child.kill("SIGKILL"), 10_000);
        child.once("exit", (code) => {
          clearTimeout(kill);
          resolve(code);
        });
        child.kill(signal);
      }).finally(() => (ownsDataDir ? rm(dataDir, { recursive: true, force: true }) : undefined));
      return stopped;
    },
    async [Symbol.asyncDispose]() {
      await spawned.stop();
    },
  };
  return spawned;
}
