import { lstat, mkdtemp, readFile, readdir, readlink, realpath, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { PACKAGES, REPO_ROOT, type Started, hintsAfter, isAlive, run, shell, start, userEnv } from "./support.js";

/** Kept between runs so a second run installs third-party packages from the cache. */
const NPM_CACHE = join(tmpdir(), "gigafactory-installed-npm-cache");

let work: string;
let prefix: string;
let folder: string;
let up: Started | undefined;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "gf-installed-"));
  const tarballs = join(work, "tarballs");
  prefix = join(work, "prefix");
  for (const pkg of PACKAGES) {
    await run("pnpm", ["pack", "--pack-destination", tarballs], { cwd: join(REPO_ROOT, pkg), env: userEnv() });
  }
  const packed = (await readdir(tarballs)).sort();
  expect(packed).toEqual([
    "gigafactory-0.1.0.tgz",
    "gigafactory-coordinator-0.1.0.tgz",
    "gigafactory-devdb-0.1.0.tgz",
    "gigafactory-factory-0.1.0.tgz",
    "gigafactory-schema-0.1.0.tgz",
    "gigafactory-sdk-0.1.0.tgz",
  ]);
  // what a person does: npm install -g, here into an empty prefix; npm fetches third-party packages
  await run(
    "npm",
    [
      ...["install", "-g", "--prefix", prefix, "--no-audit", "--no-fund", "--prefer-offline", "--cache", NPM_CACHE],
      // a registry that cannot be reached fails the test in about a minute, not at the hook's timeout
      ...["--fetch-timeout", "30000", "--fetch-retries", "1"],
      ...packed.map((name) => join(tarballs, name)),
    ],
    { cwd: work, env: userEnv() },
  );
  folder = await mkdtemp(join(work, "project-"));
});

afterAll(async () => {
  if (up && up.child.exitCode === null) {
    up.child.kill("SIGINT");
    await up.exited;
  }
  if (work) await rm(work, { recursive: true, force: true });
});

it("npm install -g of the packed tarballs gives a gf that runs a fleet from an empty folder and a factory on another host; its hints work as printed; SIGINT stops it", async () => {
  const bin = join(prefix, "bin");
  const env = userEnv(bin);

  // the repository is out of reach: a copy, not links into it, and nothing resolves from the folder
  const gf = await realpath(join(bin, "gf"));
  expect(gf.startsWith(await realpath(prefix))).toBe(true);
  expect(await linksInto(join(prefix, "lib", "node_modules"), await realpath(REPO_ROOT))).toEqual([]);
  expect(resolve(folder).startsWith(resolve(REPO_ROOT))).toBe(false);
  expect(await readdir(folder)).toEqual([]);
  const reach = await shell(
    `node -e 'import("@gigafactory/sdk").then(() => process.exit(3), () => process.exit(0))'`,
    folder,
    env,
  );
  expect(reach.code).toBe(0);

  up = start("gf", ["up", "--port", "0", "--log-level", "warn"], folder, env);
  const fleetPath = join(folder, ".gigafactory", "fleet.json");
  // bounded: 6,000 × 100 ms (a first start builds the Java stand-in)
  for (let i = 0; i < 6_000 && !up.output().includes("Ctrl-C stops the fleet"); i++) {
    if (up.child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const printed = up.output();
  expect(printed).toContain("the fleet is up");
  // which MongoDB the launcher chose is said, with why the steps before it were skipped
  expect(printed).toMatch(/^mongodb +\S+/m);
  expect(printed).toMatch(/^ {12}from: (path|mongodb-memory-server|stand-in)$/m);
  expect(printed).toMatch(/^ {12}skipped: GF_MONGO_URL: not set$/m);
  const fleet = JSON.parse(await readFile(fleetPath, "utf8")) as {
    mongoChoice: { source: string; backend: string; skipped: string[] };
    pid: number;
    processes: { coordinator: number; mongoHost?: number; mongo?: number; factories: { pid: number }[] };
  };
  expect(fleet.pid).toBe(up.child.pid);
  // the same choice in fleet.json, where `gf status` reads it
  expect(printed).toContain(`from: ${fleet.mongoChoice.source}`);
  for (const reason of fleet.mongoChoice.skipped) expect(printed).toContain(`skipped: ${reason}`);

  // every hint gf up printed, run as printed (ID: the job the submit hint created)
  const hints = hintsAfter(printed, "the fleet is up");
  expect(hints).toEqual(["gf init", "gf submit hello.md --wait", "gf jobs", "gf factories", "gf logs ID -f"]);
  let jobId: string | undefined;
  const outputs: Record<string, string> = {};
  for (const hint of hints) {
    const command = hint.replace(/\bID\b/, jobId ?? "ID");
    const result = await shell(command, folder, env);
    expect({ command, code: result.code, stderr: result.stderr }).toEqual({ command, code: 0, stderr: "" });
    outputs[hint] = result.stdout;
    jobId ??= /^(job_\S+)\t/m.exec(result.stdout)?.[1];
  }
  expect(outputs["gf submit hello.md --wait"]).toMatch(/\tshipped\t/);
  expect(outputs["gf jobs"]).toContain(`${jobId}\tshipped`);
  expect(outputs["gf factories"]).toMatch(/^local-1\t/m);
  expect(outputs["gf logs ID -f"]).toContain("shipped");

  // gf init's own hints, as printed
  const initHints = hintsAfter(outputs["gf init"] ?? "", "Next,");
  expect(initHints).toEqual(["gf submit hello.md --wait", "gf profiles publish profile.yaml"]);
  for (const command of initHints) {
    const result = await shell(command, folder, env);
    expect({ command, code: result.code, stderr: result.stderr }).toEqual({ command, code: 0, stderr: "" });
  }
  // a second gf init refuses and changes nothing
  const before = await readFile(join(folder, "hello.md"), "utf8");
  const again = await shell("gf init", folder, env);
  expect(again.code).toBe(2);
  expect(again.stderr).toContain("nothing was written");
  expect(await readFile(join(folder, "hello.md"), "utf8")).toBe(before);

  // the JSON Schema for editors, and shell completion loaded the way `gf completion --help` says
  const schema = await shell("gf schema job-file", folder, env);
  expect((JSON.parse(schema.stdout) as { properties: Record<string, unknown> }).properties).toHaveProperty("engine");
  const completion = await shell(`bash -c 'source <(gf completion bash) && complete -p gf'`, folder, env);
  expect(completion).toMatchObject({ code: 0, stderr: "" });
  expect(completion.stdout).toContain("_gf_completion gf");

  // another host: only the package, a factory token and the URL; it runs a job only it can run
  const created = await shell("gf token create --role factory --json", folder, env);
  expect(created.code).toBe(0);
  const { token } = JSON.parse(created.stdout) as { token: string };
  const { url } = JSON.parse(await readFile(fleetPath, "utf8")) as { url: string };
  const host = await mkdtemp(join(work, "host-"));
  const remote = start(
    "gf",
    ["factory", "--id", "remote-1", "--capabilities", "host:remote", "--work-dir", join(host, "work")],
    host,
    { ...env, GF_URL: url, GF_TOKEN: token },
  );
  try {
    let listed = "";
    // bounded: 600 × 100 ms
    for (let i = 0; i < 600 && !/^remote-1\t.*\tactive\t/m.test(listed); i++) {
      if (remote.child.exitCode !== null) break;
      listed = (await shell("gf factories", folder, env)).stdout;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(listed, remote.output()).toMatch(/^remote-1\t.*\tactive\t/m);
    await writeFile(
      join(folder, "remote.md"),
      "---\nengine: shell\ncapabilities: [host:remote]\nidempotency-key: remote-1\n---\necho remote\n",
    );
    const remoteJob = await shell("gf submit remote.md --wait", folder, env);
    expect({ code: remoteJob.code, stdout: remoteJob.stdout }).toMatchObject({ code: 0 });
    expect(remoteJob.stdout).toContain("claimed by remote-1");
    expect(remoteJob.stdout).toMatch(/\tshipped\t/);
  } finally {
    remote.child.kill("SIGTERM");
  }
  expect(await remote.exited).toBe(0);

  // Ctrl-C: everything gf up started stops, and it says so
  const pids = [
    fleet.pid,
    fleet.processes.coordinator,
    fleet.processes.mongoHost,
    fleet.processes.mongo,
    ...fleet.processes.factories.map((f) => f.pid),
  ].filter((pid): pid is number => typeof pid === "number");
  expect(pids.length).toBeGreaterThanOrEqual(4);
  up.child.kill("SIGINT");
  expect(await up.exited).toBe(0);
  expect(up.output()).toContain("the fleet is stopped");
  expect(pids.filter(isAlive)).toEqual([]);
  await expect(stat(fleetPath)).rejects.toThrow(/ENOENT/);
});

/** Symbolic links under `dir` that point into `target` (a package installed as a link to the repository). */
async function linksInto(dir: string, target: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    if (!(await lstat(path)).isSymbolicLink()) continue;
    const to = resolve(entry.parentPath, await readlink(path));
    if (to.startsWith(target)) found.push(path);
  }
  return found;
}
