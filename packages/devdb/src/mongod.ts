import { type ChildProcess, execFile, spawn } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { MongoClient } from "mongodb";
import { freePort, MongoStartError, OutputTail, onProcessExit, terminate, unrefChild } from "./process.js";
import type { MongoHandle, MongoLauncherLogger } from "./types.js";

const replSetName = "rs0";

/**
 * Resolves to `binary` if running `<binary> --version` works; `undefined` if it
 * is not there (ENOENT) or broken. Spawning, rather than scanning PATH
 * ourselves, finds `mongod` exactly as the later spawn will.
 */
export function probeMongod(binary: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(binary, ["--version"], { timeout: 10_000 }, (err, stdout) => {
      resolve(err ? undefined : (stdout.split("\n")[0] ?? "").trim() || binary);
    });
  });
}

export interface StartMongodOptions {
  binary: string;
  readyTimeoutMs: number;
  logger: MongoLauncherLogger;
}

/**
 * Starts `mongod` on 127.0.0.1 and a free port with a temp dbpath, as a
 * single-node replica set (so transactions and change streams work), and
 * waits until it is primary.
 */
export async function startMongod(opts: StartMongodOptions): Promise<MongoHandle> {
  const port = await freePort();
  const dbPath = await mkdtemp(join(tmpdir(), "gf-mongod-"));
  const logPath = join(dbPath, "mongod.log");
  const child = spawn(
    opts.binary,
    [
      ...["--dbpath", dbPath, "--bind_ip", "127.0.0.1", "--port", String(port)],
      ...["--replSet", replSetName, "--logpath", logPath],
      // A test database needs little cache; the default is half of RAM.
      ...["--wiredTigerCacheSizeGB", "0.25", "--setParameter", "diagnosticDataCollectionEnabled=false"],
    ],
    // own process group: a terminal Ctrl-C must not kill the database under a coordinator still shutting down
    { stdio: ["ignore", "ignore", "pipe"], detached: true },
  );
  const stderr = new OutputTail().attach(child.stderr);
  const output = (): string => [stderr.toString(), readTail(logPath)].filter(Boolean).join("\n");
  child.on("error", () => {});
  // mongod does not watch its stdin, so a shell does it for us: when this
  // process dies (even by SIGKILL) the pipe closes, `cat` returns and mongod
  // gets SIGTERM.
  const watchdog = spawnWatchdog(child);
  const unregister = onProcessExit(() => {
    watchdog?.kill("SIGKILL");
    child.kill("SIGKILL");
    rmSync(dbPath, { recursive: true, force: true });
  });

  const stop = async (): Promise<void> => {
    try {
      watchdog?.kill("SIGKILL");
      await terminate(child, 10_000);
      await rm(dbPath, { recursive: true, force: true });
    } finally {
      unregister();
    }
  };

  const url = `mongodb://127.0.0.1:${port}/?replicaSet=${replSetName}`;
  try {
    await initiateReplicaSet(port, child, Date.now() + opts.readyTimeoutMs);
  } catch (err) {
    await stop();
    const message = err instanceof Error ? err.message : String(err);
    throw new MongoStartError(`mongod (${opts.binary}) did not become ready: ${message}`, output());
  }
  unrefChild(child);
  if (watchdog) unrefChild(watchdog);

  let stopping: Promise<void> | undefined;
  const stopOnce = (): Promise<void> => {
    stopping ??= stop();
    return stopping;
  };
  return {
    url,
    backend: "mongod",
    pid: child.pid,
    describe: () => `mongod ${url} (${opts.binary}, pid ${child.pid}, dbpath ${dbPath})`,
    stop: stopOnce,
    [Symbol.asyncDispose]: stopOnce,
  };
}

function spawnWatchdog(child: ChildProcess): ChildProcess | undefined {
  if (child.pid === undefined) return undefined;
  const watchdog = spawn(
    "sh",
    ["-c", 'cat >/dev/null; kill -TERM "$1" 2>/dev/null', "gf-mongod-watchdog", String(child.pid)],
    {
      stdio: ["pipe", "ignore", "ignore"],
      detached: true,
    },
  );
  watchdog.on("error", () => {});
  watchdog.stdin?.on("error", () => {});
  return watchdog;
}

/** Polls until mongod answers, initiates the one-member set, then polls until it is primary. */
async function initiateReplicaSet(port: number, child: ChildProcess, deadline: number): Promise<void> {
  const client = new MongoClient(`mongodb://127.0.0.1:${port}/?directConnection=true`, {
    serverSelectionTimeoutMS: 1000,
    connectTimeoutMS: 1000,
  });
  try {
    let initiated = false;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`mongod exited (code ${child.exitCode}, signal ${child.signalCode})`);
      }
      if (Date.now() > deadline) throw new Error("timed out");
      try {
        const admin = client.db("admin");
        if (!initiated) {
          await admin.command({
            replSetInitiate: { _id: replSetName, members: [{ _id: 0, host: `127.0.0.1:${port}` }] },
          });
          initiated = true;
        }
        const hello = await admin.command({ hello: 1 });
        if (hello.isWritablePrimary === true) return;
      } catch (err) {
        // 23 = AlreadyInitialized: an earlier attempt went through after all.
        if ((err as { code?: unknown }).code === 23) initiated = true;
      }
      await sleep(100);
    }
  } finally {
    await client.close();
  }
}

function readTail(path: string): string {
  try {
    return readFileSync(path, "utf8").slice(-4096);
  } catch {
    return "";
  }
}
