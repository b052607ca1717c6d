import { type ChildProcess, spawn } from "node:child_process";
import { type WriteStream, createWriteStream, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { type SpawnedCoordinator, spawnCoordinator } from "@gigafactory/coordinator/testing";

const require = createRequire(import.meta.url);
/** The factory app's main, as `gf up` and the test suites start it. */
export const FACTORY_MAIN = join(dirname(require.resolve("@gigafactory/factory/package.json")), "dist", "main.js");

/** Every pid this harness started, so that clean-up ends exactly those (never by name). */
export const startedPids = new Set<number>();

export function isAlive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

function exitOf(child: ChildProcess): Promise<void> {
  if (!isAlive(child)) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

/** Sends `signal`, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  if (!isAlive(child)) return;
  const exited = exitOf(child);
  // a stopped process must be continued to act on anything but SIGKILL
  if (child.pid !== undefined) signalPid(child.pid, "SIGCONT");
  child.kill(signal);
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

export function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // gone already
  }
}

function logTo(file: string): WriteStream {
  mkdirSync(dirname(file), { recursive: true });
  return createWriteStream(file, { flags: "a" });
}

/** One coordinator slot: restarted on the same port, database and data dir. */
export class CoordinatorSlot {
  current: SpawnedCoordinator | undefined;
  port = 0;
  restarts = 0;
  private readonly log: WriteStream;

  constructor(
    readonly name: string,
    private readonly opts: { mongoUrl: string; dbName: string; dataDir: string; env: Record<string, string> },
    logDir: string,
  ) {
    this.log = logTo(join(logDir, `${name}.log`));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<SpawnedCoordinator> {
    let lastError: unknown;
    // the port may still be held for a moment after a kill: a few tries
    for (let attempt = 0; attempt < 10; attempt++) {
      try {
        const coordinator = await spawnCoordinator({
          mongoUrl: this.opts.mongoUrl,
          dbName: this.opts.dbName,
          dataDir: this.opts.dataDir,
          env: { ...this.opts.env, GF_PORT: String(this.port) },
          readyTimeoutMs: 60_000,
        });
        if (coordinator.process.pid !== undefined) startedPids.add(coordinator.process.pid);
        this.log.write(`--- started pid ${coordinator.process.pid} at ${new Date().toISOString()}\n`);
        for (const line of coordinator.output) this.log.write(`${line}\n`);
        coordinator.process.stdout?.on("data", (chunk: Buffer) => this.log.write(chunk));
        coordinator.process.stderr?.on("data", (chunk: Buffer) => this.log.write(chunk));
        this.port = Number(new URL(coordinator.url).port);
        this.current = coordinator;
        return coordinator;
      } catch (error) {
        lastError = error;
        this.log.write(`--- start failed: ${error instanceof Error ? error.message : String(error)}\n`);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
    throw lastError;
  }

  async kill(): Promise<void> {
    const coordinator = this.current;
    if (!coordinator) return;
    await stopChild(coordinator.process, "SIGKILL", 5_000);
    this.log.write(`--- SIGKILL at ${new Date().toISOString()}\n`);
  }

  async stop(): Promise<void> {
    const coordinator = this.current;
    if (!coordinator) return;
    await stopChild(coordinator.process, "SIGTERM", 10_000);
    this.log.write(`--- stopped at ${new Date().toISOString()}\n`);
    this.log.end();
  }
}

/** One factory slot: a fixed id, work dir and coordinator URL across restarts. */
export class FactorySlot {
  child: ChildProcess | undefined;
  restarts = 0;
  private readonly log: WriteStream;

  constructor(
    readonly factoryId: string,
    readonly workDir: string,
    private readonly env: () => Record<string, string>,
    logDir: string,
  ) {
    mkdirSync(workDir, { recursive: true });
    this.log = logTo(join(logDir, `${factoryId}.log`));
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  alive(): boolean {
    return this.child !== undefined && isAlive(this.child);
  }

  /** Spawns the factory; resolves once it printed its ready line (or after `readyTimeoutMs`, alive or not). */
  async start(readyTimeoutMs = 60_000): Promise<boolean> {
    const child = spawn(process.execPath, [FACTORY_MAIN], { env: this.env(), stdio: ["ignore", "pipe", "pipe"] });
    if (child.pid === undefined) throw new Error(`factory ${this.factoryId} did not start`);
    startedPids.add(child.pid);
    this.child = child;
    this.log.write(`--- started pid ${child.pid} at ${new Date().toISOString()}\n`);
    return await new Promise<boolean>((resolve) => {
      let buffered = "";
      const timer = setTimeout(() => resolve(false), readyTimeoutMs);
      const onData = (chunk: Buffer) => {
        this.log.write(chunk);
        buffered = (buffered + chunk.toString("utf8")).slice(-4_096);
        if (buffered.includes('"msg":"GF_FACTORY_READY"')) {
          clearTimeout(timer);
          resolve(true);
        }
      };
      child.stdout?.on("data", onData);
      child.stderr?.on("data", (chunk: Buffer) => this.log.write(chunk));
      child.once("exit", (code, signal) => {
        this.log.write(`--- exited ${code ?? signal} at ${new Date().toISOString()}\n`);
        clearTimeout(timer);
        resolve(false);
      });
    });
  }

  signal(signal: NodeJS.Signals): void {
    if (this.child?.pid !== undefined && this.alive()) {
      this.log.write(`--- ${signal} at ${new Date().toISOString()}\n`);
      signalPid(this.child.pid, signal);
    }
  }

  async kill(): Promise<void> {
    if (!this.child) return;
    this.log.write(`--- SIGKILL at ${new Date().toISOString()}\n`);
    await stopChild(this.child, "SIGKILL", 5_000);
  }

  /** SIGTERM: the factory drains and exits; SIGKILL after `graceMs`. */
  async stop(graceMs = 20_000): Promise<void> {
    if (!this.child) return;
    await stopChild(this.child, "SIGTERM", graceMs);
  }

  closeLog(): void {
    this.log.end();
  }
}
