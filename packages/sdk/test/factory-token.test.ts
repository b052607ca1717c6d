import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { databaseNameFor } from "@gigafactory/devdb";
import { type SpawnedCoordinator, spawnCoordinator } from "@gigafactory/coordinator/testing";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createGigafactoryClient } from "../src/index.js";
import { stopProcess } from "./support/fleet.js";
import { cleanEnv, GF_MAIN, REPO_ROOT } from "./support/run-gf.js";

// Issue 10: `/proc/<pid>/cmdline` and `/proc/<pid>/environ` of a factory started by `gf factory`
// must not hold its token; every user on the host (and, without a sandbox, every job) reads them.

let coordinator: SpawnedCoordinator;
let factoryToken: string;
let workDir: string;

beforeAll(async () => {
  coordinator = await spawnCoordinator({ mongoUrl: inject("mongoUrl"), dbName: databaseNameFor("sdk-factory-token") });
  const admin = createGigafactoryClient({ url: coordinator.url, token: coordinator.adminToken });
  try {
    ({ token: factoryToken } = await admin.trpc.admin.createToken.mutate({ role: "factory", name: "token test" }));
  } finally {
    await admin.close();
  }
  workDir = await mkdtemp(join(tmpdir(), "gf-factory-token-test-"));
});
afterAll(async () => {
  await coordinator?.stop();
  await rm(workDir, { recursive: true, force: true });
});

/** The pids whose parent is `ppid`. */
function childrenOf(ppid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[1]) === ppid) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** Starts `gf factory` and resolves once the factory is ready, with the factory's pid and gf's stderr. */
async function startGfFactory(args: string[], env: Record<string, string>) {
  const gf = spawn(process.execPath, [GF_MAIN, ...args], {
    env: cleanEnv({ GF_LOG_LEVEL: "warn", ...env }),
    cwd: REPO_ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output: string[] = [];
  createInterface({ input: gf.stderr }).on("line", (line) => output.push(line));
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`factory not ready in time:\n${output.join("\n")}`)), 60_000);
    createInterface({ input: gf.stdout }).on("line", (line) => {
      output.push(line);
      if (line.includes('"msg":"GF_FACTORY_READY"')) {
        clearTimeout(timer);
        resolve();
      }
    });
    gf.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`gf factory exited with ${code}:\n${output.join("\n")}`));
    });
  });
  try {
    await ready;
  } catch (error) {
    await stopProcess(gf);
    throw error;
  }
  const [factoryPid] = childrenOf(gf.pid ?? -1);
  return { gf, factoryPid: factoryPid ?? -1, output };
}

const common = (id: string) => ["--id", id, "--engines", "shell", "--seats", "1", "--work-dir", join(workDir, id)];

describe("gf factory keeps the token out of the factory's process list entry", () => {
  it("with --token: not in the factory's cmdline or environ, and gf warns about --token", async () => {
    const { gf, factoryPid, output } = await startGfFactory(
      ["--url", coordinator.url, "--token", factoryToken, "factory", ...common("via-flag")],
      {},
    );
    try {
      expect(factoryPid).toBeGreaterThan(0);
      expect(readFileSync(`/proc/${factoryPid}/cmdline`, "utf8")).not.toContain(factoryToken);
      expect(readFileSync(`/proc/${factoryPid}/environ`, "utf8")).not.toContain(factoryToken);
      expect(output.join("\n")).toContain("--token on the command line is visible");
    } finally {
      await stopProcess(gf);
    }
  });

  it("with GF_TOKEN: not in the factory's environ, and no warning", async () => {
    const { gf, factoryPid, output } = await startGfFactory(["factory", ...common("via-env")], {
      GF_URL: coordinator.url,
      GF_TOKEN: factoryToken,
    });
    try {
      expect(factoryPid).toBeGreaterThan(0);
      expect(readFileSync(`/proc/${factoryPid}/cmdline`, "utf8")).not.toContain(factoryToken);
      expect(readFileSync(`/proc/${factoryPid}/environ`, "utf8")).not.toContain(factoryToken);
      expect(output.join("\n")).not.toContain("--token on the command line");
    } finally {
      await stopProcess(gf);
    }
  });
});
