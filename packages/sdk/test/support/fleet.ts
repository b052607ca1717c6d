import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { databaseNameFor } from "@gigafactory/devdb";
import { type SpawnedCoordinator, spawnCoordinator } from "@gigafactory/coordinator/testing";
import { type GigafactoryClient, createGigafactoryClient } from "../../src/index.js";
import { resolveApp } from "../../src/cli/apps.js";

/** A real coordinator and a real factory process, with a service and an admin client. */
export interface TestFleet {
  url: string;
  adminToken: string;
  serviceToken: string;
  /** Service-role client, as a service would use the SDK. */
  service: GigafactoryClient;
  coordinator: SpawnedCoordinator;
  factory: ChildProcess;
  /** The factory's work dir: a job's workspace is `jobs/<jobId>-e<epoch>` in it. */
  workDir: string;
  /**
   * Creates `name` in the running job's workspace, the only part of the host a sandboxed job sees:
   * a job waiting for it (`while [ ! -e name ]`) goes on.
   */
  openGate(jobId: string, name: string): Promise<void>;
  close(): Promise<void>;
  /** `await using fleet = await startTestFleet(…)`: closes it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Start-up timings short enough for tests; no timing is asserted on. */
const COORDINATOR_ENV = { GF_BACKOFF_BASE: "100ms", GF_HEARTBEAT_INTERVAL: "1s" } as const;

export async function startTestFleet(opts: { mongoUrl: string; label: string }): Promise<TestFleet> {
  const coordinator = await spawnCoordinator({
    mongoUrl: opts.mongoUrl,
    dbName: databaseNameFor(opts.label),
    env: { ...COORDINATOR_ENV },
  });
  const admin = createGigafactoryClient({ url: coordinator.url, token: coordinator.adminToken });
  const workDir = await mkdtemp(join(tmpdir(), "gf-sdk-factory-"));
  let factory: ChildProcess | undefined;
  try {
    const { token: serviceToken } = await admin.trpc.admin.createToken.mutate({ role: "service", name: "sdk tests" });
    const { token: factoryToken } = await admin.trpc.admin.createToken.mutate({ role: "factory", name: "sdk tests" });
    const app = await resolveApp("factory", { cwd: process.cwd(), env: {} });
    factory = await spawnFactory(app.main, {
      GF_URL: coordinator.url,
      GF_TOKEN: factoryToken,
      GF_FACTORY_ID: "test-1",
      GF_WORK_DIR: workDir,
      GF_ENGINES: "shell",
      GF_SEATS: "4",
    });
    const service = createGigafactoryClient({ url: coordinator.url, token: serviceToken });
    const running = factory;
    let closing: Promise<void> | undefined;
    const close = (): Promise<void> => {
      closing ??= (async () => {
        await service.close().catch(() => undefined);
        await stopProcess(running);
        await coordinator.stop();
        await rm(workDir, { recursive: true, force: true });
      })();
      return closing;
    };
    return {
      url: coordinator.url,
      adminToken: coordinator.adminToken,
      serviceToken,
      service,
      coordinator,
      factory: running,
      workDir,
      async openGate(jobId, name) {
        const { lease } = await service.trpc.jobs.get.query({ jobId });
        await writeFile(join(workDir, "jobs", `${jobId}-e${lease.epoch}`, name), "");
      },
      close,
      [Symbol.asyncDispose]: close,
    };
  } catch (error) {
    if (factory) await stopProcess(factory);
    await coordinator.stop();
    await rm(workDir, { recursive: true, force: true });
    throw error;
  } finally {
    await admin.close();
  }
}

function spawnFactory(main: string, env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, [main], {
    env: { ...process.env, GF_LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output: string[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`factory not ready in time:\n${output.join("\n")}`)), 60_000);
    const onLine = (line: string) => {
      output.push(line);
      if (line.includes('"msg":"GF_FACTORY_READY"')) {
        clearTimeout(timer);
        resolve(child);
      }
    };
    createInterface({ input: child.stdout }).on("line", onLine);
    createInterface({ input: child.stderr }).on("line", onLine);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`factory exited with ${code} before it was ready:\n${output.join("\n")}`));
    });
  });
}

/** SIGTERM (the factory drains), SIGKILL if it is still there after a while. */
export function stopProcess(child: ChildProcess, graceMs = 20_000): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

/** A job file for the shell engine. */
export function shellJob(opts: { title: string; body: string; key?: string; extra?: string[] }): string {
  return [
    "---",
    `title: ${opts.title}`,
    "engine: shell",
    ...(opts.key ? [`idempotency-key: ${opts.key}`] : []),
    ...(opts.extra ?? []),
    "---",
    opts.body,
    "",
  ].join("\n");
}
