import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { isProcessAlive } from "@gigafactory/devdb";
import type { Factory } from "@gigafactory/schema";
import { afterAll, expect, it } from "vitest";
import { createGigafactoryClient, readFleetFile } from "../src/index.js";
import { startGfUp, waitForFile } from "./support/gf-up.js";
import { EXAMPLES, cleanEnv, parseJson, runGf } from "./support/run-gf.js";

const SDK_DIR = fileURLToPath(new URL("../", import.meta.url));
const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

it("gf up runs a fleet that ships examples/hello.md and runs the SDK example; SIGINT stops every process it started", async () => {
  const data = await mkdtemp(join(tmpdir(), "gf-up-"));
  cleanups.push(() => rm(data, { recursive: true, force: true }));
  const started = performance.now();
  const gfUp = startGfUp(["up", "--port", "0", "--factories", "2", "--data", data, "--log-level", "warn"]);
  const { up, exited: upExit, output } = gfUp;
  // if an assertion fails, nothing may be left running
  cleanups.push(() => gfUp.stop());

  const fleetPath = join(data, ".gigafactory", "fleet.json");
  const fleet = await waitForFile(fleetPath, upExit, output);
  const ready = performance.now();
  expect(fleet.pid).toBe(up.pid);
  expect((await stat(fleetPath)).mode & 0o777).toBe(0o600);
  expect(output()).toContain("the fleet is up");

  // no flags, no GF_* environment: the fleet file under the working directory is found
  const hello = await runGf(["submit", join(EXAMPLES, "hello.md"), "--wait"], { cwd: data });
  const shipped = performance.now();
  expect(hello.stderr).toBe("");
  expect(hello.code).toBe(0);
  expect(hello.stdout).toMatch(/\tshipped\t/);

  const factories = parseJson<Factory[]>(await runGf(["factories", "--json"], { cwd: data }));
  expect(factories.map((f) => [f.factoryId, f.state]).sort()).toEqual([
    ["local-1", "active"],
    ["local-2", "active"],
  ]);
  expect(factories.map((f) => f.descriptor.pid).sort()).toEqual(
    (fleet.processes?.factories ?? []).map((f) => f.pid).sort(),
  );

  // the README's SDK example, byte for byte, where `@gigafactory/sdk` resolves (inside the package)
  const scratch = await mkdtemp(join(SDK_DIR, ".example-"));
  cleanups.push(() => rm(scratch, { recursive: true, force: true }));
  await copyFile(join(EXAMPLES, "sdk-example.mjs"), join(scratch, "sdk-example.mjs"));
  const example = await runNode(join(scratch, "sdk-example.mjs"), data);
  expect(example.stderr).toBe("");
  expect(example.code).toBe(0);
  expect(example.stdout).toMatch(/^created job_\S+: Hello from the SDK$/m);
  expect(example.stdout).toContain("  | hello from a job submitted by the SDK");
  expect(example.stdout).toMatch(/^result: shipped after 1 attempt\(s\) on local-\d, \d+ ms$/m);

  const pids = [
    fleet.pid,
    fleet.processes?.coordinator,
    fleet.processes?.mongoHost,
    fleet.processes?.mongo,
    ...(fleet.processes?.factories ?? []).map((f) => f.pid),
  ].filter((pid): pid is number => typeof pid === "number");
  expect(pids).toHaveLength(6);
  for (const pid of pids) expect(isProcessAlive(pid)).toBe(true);

  up.kill("SIGINT");
  expect(await upExit).toBe(0);
  const stopped = performance.now();
  expect(output()).toContain("the fleet is stopped");
  expect(pids.filter((pid) => isProcessAlive(pid))).toEqual([]);
  await expect(stat(fleetPath)).rejects.toThrow(/ENOENT/);
  // figures for the report, not assertions
  console.info(
    `[gf up] fleet ready ${Math.round(ready - started)} ms, hello shipped ${Math.round(shipped - started)} ms after start (${Math.round(shipped - ready)} ms after ready), stopped in ${Math.round(stopped - shipped)} ms after SIGINT`,
  );
});

it("gf up refuses to start a second fleet in the same data directory", async () => {
  const data = await mkdtemp(join(tmpdir(), "gf-up-twice-"));
  cleanups.push(() => rm(data, { recursive: true, force: true }));
  const gfUp = startGfUp(["up", "--port", "0", "--factories", "0", "--data", data]);
  const { up, exited: upExit, output } = gfUp;
  cleanups.push(() => gfUp.stop());
  await waitForFile(join(data, ".gigafactory", "fleet.json"), upExit, output);
  const second = await runGf(["up", "--port", "0", "--data", data]);
  expect(second.code).toBe(2);
  expect(second.stderr).toContain(`a fleet is already running here (gf up, pid ${up.pid}`);
  up.kill("SIGTERM");
  expect(await upExit).toBe(0);
});

it("when gf up is killed outright (SIGKILL), the processes it started stop on their own", async () => {
  const data = await mkdtemp(join(tmpdir(), "gf-up-killed-"));
  cleanups.push(() => rm(data, { recursive: true, force: true }));
  const gfUp = startGfUp(["up", "--port", "0", "--factories", "1", "--data", data]);
  const { up, exited: upExit, output } = gfUp;
  const fleet = await waitForFile(join(data, ".gigafactory", "fleet.json"), upExit, output);
  const children = [
    fleet.processes?.coordinator,
    fleet.processes?.mongoHost,
    fleet.processes?.mongo,
    ...(fleet.processes?.factories ?? []).map((f) => f.pid),
  ].filter((pid): pid is number => typeof pid === "number");
  expect(children).toHaveLength(4);
  cleanups.push(async () => {
    for (const pid of children) if (isProcessAlive(pid)) process.kill(pid, "SIGKILL");
  });
  up.kill("SIGKILL");
  await upExit;
  // each child sees its stdin close and stops itself; bounded: 600 × 100 ms
  for (let i = 0; i < 600 && children.some((pid) => isProcessAlive(pid)); i++)
    await new Promise((resolve) => setTimeout(resolve, 100));
  expect(children.filter((pid) => isProcessAlive(pid))).toEqual([]);
});

it("gf up restarts a factory killed with SIGKILL; the fleet stays up and its job ships once, on a later lease", async () => {
  const data = await mkdtemp(join(tmpdir(), "gf-up-supervise-"));
  cleanups.push(() => rm(data, { recursive: true, force: true }));
  const gfUp = startGfUp([
    "up",
    "--port",
    "0",
    "--factories",
    "2",
    "--data",
    data,
    "--lease-ttl",
    "4s",
    "--log-level",
    "warn",
  ]);
  const { up, exited: upExit, output } = gfUp;
  cleanups.push(() => gfUp.stop());
  const fleetPath = join(data, ".gigafactory", "fleet.json");
  const fleet = await waitForFile(fleetPath, upExit, output);
  const gf = createGigafactoryClient({ url: fleet.url, token: fleet.serviceToken ?? fleet.token });
  cleanups.push(() => gf.close());
  const workspace = (holder: string, jobId: string, epoch: number) =>
    join(data, ".gigafactory", "work", holder, "jobs", `${jobId}-e${epoch}`);

  // a long job: it waits for a gate file in its workspace
  const { job } = await gf.trpc.jobs.create.mutate({
    title: "waits for its gate",
    bodyMd: "while [ ! -e gate ]; do sleep 0.2; done\necho through the gate",
    engine: "shell",
  });
  const first = await pollFor("the job to run", async () => {
    const { lease, stage } = await gf.trpc.jobs.get.query({ jobId: job._id });
    return stage === "building" && lease.holder && existsSync(workspace(lease.holder, job._id, lease.epoch))
      ? { holder: lease.holder, epoch: lease.epoch }
      : undefined;
  });
  const victim = fleet.processes?.factories?.find((f) => f.id === first.holder);
  expect(victim).toBeDefined();
  process.kill(victim?.pid ?? 0, "SIGKILL");

  // gf up says so and starts it again; the fleet file names the new process
  await pollFor("the restart", async () => (output().includes(`factory ${first.holder} restarted`) ? true : undefined));
  expect(output()).toContain(`factory ${first.holder} exited (signal SIGKILL); restarting in 1s`);
  const restarted = (await readFleetFile(fleetPath)).processes?.factories?.find((f) => f.id === first.holder);
  expect(restarted?.pid).not.toBe(victim?.pid);
  expect(isProcessAlive(restarted?.pid ?? 0)).toBe(true);
  expect(up.exitCode).toBeNull();

  // the lease runs out; whichever factory claims the job next gets the gate in its workspace
  const second = await pollFor("the job to run again", async () => {
    const { lease, stage } = await gf.trpc.jobs.get.query({ jobId: job._id });
    return stage === "building" &&
      lease.holder &&
      lease.epoch > first.epoch &&
      existsSync(workspace(lease.holder, job._id, lease.epoch))
      ? { holder: lease.holder, epoch: lease.epoch }
      : undefined;
  });
  await writeFile(join(workspace(second.holder, job._id, second.epoch), "gate"), "");
  const done = await pollFor("the job to finish", async () => {
    const current = await gf.trpc.jobs.get.query({ jobId: job._id });
    return current.stage === "shipped" || current.stage === "failed" ? current : undefined;
  });
  expect(done.stage).toBe("shipped");
  const runs = await gf.trpc.jobs.runs.query({ jobId: job._id });
  expect(runs.filter((run) => run.result === "success")).toHaveLength(1);

  // gf keeps working, and the whole fleet still runs
  const jobs = await runGf(["jobs"], { cwd: data });
  expect(jobs.code).toBe(0);
  expect(jobs.stdout).toContain(job._id);
  expect(up.exitCode).toBeNull();
  up.kill("SIGINT");
  expect(await upExit).toBe(0);
}, 300_000);

/** Polls `check` until it returns a value; bounded: 1,800 × 200 ms. */
async function pollFor<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 1_800; i++) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function runNode(script: string, cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script], { cwd, env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}
