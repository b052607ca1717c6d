import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { AppRouter } from "@gigafactory/coordinator";
import { type SpawnedCoordinator, spawnCoordinator } from "@gigafactory/coordinator/testing";
import { databaseNameFor } from "@gigafactory/devdb";
import { type TRPCClient, createTRPCClient, httpBatchLink } from "@trpc/client";
import superjson from "superjson";

/** The built dashboard and the built factory daemon, beside this app (turbo builds both first). */
export const DASHBOARD_DIST = fileURLToPath(new URL("../../dist", import.meta.url));
const FACTORY_MAIN = fileURLToPath(new URL("../../../factory/dist/main.js", import.meta.url));

/** A real coordinator serving the built dashboard, one real factory, and tokens of each role. */
export interface DashboardFleet {
  url: string;
  adminToken: string;
  serviceToken: string;
  factoryId: string;
  /** Service-role client, for arranging jobs the way a service would. */
  service: TRPCClient<AppRouter>;
  coordinator: SpawnedCoordinator;
  factory: ChildProcess;
  /** Creates `name` in the running job's workspace: a job waiting for it (`while [ ! -e name ]`) goes on. */
  openGate(jobId: string, name: string): Promise<void>;
  close(): Promise<void>;
}

function client(url: string, token: string): TRPCClient<AppRouter> {
  return createTRPCClient<AppRouter>({
    links: [httpBatchLink({ url, transformer: superjson, headers: { authorization: `Bearer ${token}` } })],
  });
}

export async function startDashboardFleet(opts: { mongoUrl: string; label: string }): Promise<DashboardFleet> {
  const coordinator = await spawnCoordinator({
    mongoUrl: opts.mongoUrl,
    dbName: databaseNameFor(opts.label),
    // heartbeats every second, so a killed factory is stale (3 heartbeats) within seconds
    env: { GF_HEARTBEAT_INTERVAL: "1s", GF_BACKOFF_BASE: "100ms", GF_DASHBOARD_DIR: DASHBOARD_DIST },
  });
  const workDir = await mkdtemp(join(tmpdir(), "gf-dashboard-factory-"));
  const admin = client(coordinator.url, coordinator.adminToken);
  const factoryId = "e2e-1";
  let factory: ChildProcess | undefined;
  try {
    const { token: serviceToken } = await admin.admin.createToken.mutate({ role: "service", name: "dashboard e2e" });
    const { token: factoryToken } = await admin.admin.createToken.mutate({ role: "factory", name: "dashboard e2e" });
    factory = await spawnFactory({
      GF_URL: coordinator.url,
      GF_TOKEN: factoryToken,
      GF_FACTORY_ID: factoryId,
      GF_WORK_DIR: workDir,
      GF_ENGINES: "shell",
      GF_SEATS: "4",
    });
    const service = client(coordinator.url, serviceToken);
    const running = factory;
    let closing: Promise<void> | undefined;
    return {
      url: coordinator.url,
      adminToken: coordinator.adminToken,
      serviceToken,
      factoryId,
      service,
      coordinator,
      factory: running,
      async openGate(jobId, name) {
        const { lease } = await service.jobs.get.query({ jobId });
        await writeFile(join(workDir, "jobs", `${jobId}-e${lease.epoch}`, name), "");
      },
      close() {
        closing ??= (async () => {
          await stopProcess(running);
          await coordinator.stop();
          await rm(workDir, { recursive: true, force: true });
        })();
        return closing;
      },
    };
  } catch (error) {
    if (factory) await stopProcess(factory);
    await coordinator.stop();
    await rm(workDir, { recursive: true, force: true });
    throw error;
  }
}

function spawnFactory(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, [FACTORY_MAIN], {
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

/** SIGTERM, then SIGKILL if it is still there after a while; at once for one already gone. */
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
