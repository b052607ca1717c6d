import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { MongoClient } from "mongodb";
import { freePort, MongoStartError, OutputTail, onProcessExit, terminate, unrefChild } from "./process.js";
import { redactUrl } from "./redact.js";
import type { MongoHandle, MongoLauncherLogger } from "./types.js";

const replSetName = "rs0";

/** The one user a launched `mongod` has: `root` on `admin`, made through the localhost exception. */
export interface MongodCredentials {
  user: string;
  password: string;
  /** The replica set's internal-auth key file (a replica set with `--auth` needs one). */
  keyFile: string;
  /** Where `user` and `password` are kept (0600), beside the key file in the data dir. */
  credentialsFile: string;
}

/**
 * Generates the credentials of a new `mongod` and keeps them in `dataDir`, readable by the owner
 * only (0600): `credentials.json` (user, password) and `keyfile`. Random each time.
 */
export async function createMongodCredentials(dataDir: string): Promise<MongodCredentials> {
  const credentials = {
    user: "gf-admin",
    password: randomBytes(24).toString("base64url"),
    keyFile: join(dataDir, "keyfile"),
    credentialsFile: join(dataDir, "credentials.json"),
  };
  // mongod refuses a key file that others may read; base64, 6 to 1024 characters
  await writeFile(credentials.keyFile, randomBytes(512).toString("base64"), { mode: 0o600 });
  await writeFile(
    credentials.credentialsFile,
    `${JSON.stringify({ user: credentials.user, password: credentials.password }, null, 2)}\n`,
    { mode: 0o600 },
  );
  return credentials;
}

/** `mongod`'s arguments: loopback only, a one-node replica set, authentication on. */
export function mongodArgs(opts: { dbPath: string; port: number; logPath: string; keyFile: string }): string[] {
  return [
    ...["--dbpath", opts.dbPath, "--bind_ip", "127.0.0.1", "--port", String(opts.port)],
    ...["--replSet", replSetName, "--logpath", opts.logPath],
    // every client authenticates; members of the set by the key file
    ...["--auth", "--keyFile", opts.keyFile],
    // A test database needs little cache; the default is half of RAM.
    ...["--wiredTigerCacheSizeGB", "0.25", "--setParameter", "diagnosticDataCollectionEnabled=false"],
  ];
}

/** The driver URL of a launched `mongod`, with its credentials. */
export function mongodUrl(port: number, credentials: Pick<MongodCredentials, "user" | "password">): string {
  const auth = `${encodeURIComponent(credentials.user)}:${encodeURIComponent(credentials.password)}`;
  return `mongodb://${auth}@127.0.0.1:${port}/?replicaSet=${replSetName}&authSource=admin`;
}

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
 * single-node replica set (so transactions and change streams work), with
 * authentication on: generated credentials (0600 in the dbpath), the one user
 * created through the localhost exception. Waits until it is primary.
 */
export async function startMongod(opts: StartMongodOptions): Promise<MongoHandle> {
  const port = await freePort();
  const dbPath = await mkdtemp(join(tmpdir(), "gf-mongod-"));
  const logPath = join(dbPath, "mongod.log");
  const credentials = await createMongodCredentials(dbPath);
  const child = spawn(
    opts.binary,
    mongodArgs({ dbPath, port, logPath, keyFile: credentials.keyFile }),
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

  const url = mongodUrl(port, credentials);
  try {
    await initiateReplicaSet(port, child, Date.now() + opts.readyTimeoutMs, credentials);
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
    describe: () =>
      `mongod ${redactUrl(url)} (${opts.binary}, pid ${child.pid}, dbpath ${dbPath}, authentication on: ${credentials.credentialsFile})`,
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

/**
 * Polls until mongod answers, initiates the one-member set, polls until it is primary, then
 * creates the one user. Before any user exists, a client on 127.0.0.1 may do exactly this (the
 * localhost exception); afterwards every client authenticates.
 */
async function initiateReplicaSet(
  port: number,
  child: ChildProcess,
  deadline: number,
  credentials: Pick<MongodCredentials, "user" | "password">,
): Promise<void> {
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
        if (hello.isWritablePrimary === true) break;
      } catch (err) {
        // 23 = AlreadyInitialized: an earlier attempt went through after all.
        if ((err as { code?: unknown }).code === 23) initiated = true;
      }
      await sleep(100);
    }
    // once, not in the loop: after the first user the localhost exception is closed
    await client.db("admin").command({
      createUser: credentials.user,
      pwd: credentials.password,
      roles: [{ role: "root", db: "admin" }],
    });
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
