import { execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, symlink } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { readFleetFile } from "../src/index.js";
import { exitOf, waitForFile } from "./support/gf-up.js";
import { REPO_ROOT, cleanEnv } from "./support/run-gf.js";

/** A shell of a person in this repository: no npm_/pnpm_ variables from the `pnpm test` running us. */
function repoEnv(): NodeJS.ProcessEnv {
  const env = cleanEnv();
  for (const key of Object.keys(env)) if (/^(npm|pnpm)_|^INIT_CWD$/i.test(key)) delete env[key];
  return env;
}

function sh(command: string, cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile("sh", ["-c", command], { cwd, env: repoEnv(), timeout: 180_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** The indented command lines after `header`: comments dropped, several on a line split. */
function hintsAfter(text: string, header: string): string[] {
  const lines = text.split("\n");
  const at = lines.findIndex((line) => line.includes(header));
  const hints: string[] = [];
  for (const line of at < 0 ? [] : lines.slice(at + 1)) {
    if (!line.startsWith("  ")) break;
    hints.push(
      ...line
        .replace(/#.*$/, "")
        .trim()
        .split(/\s{3,}/)
        .filter(Boolean),
    );
  }
  return hints;
}

const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

it("inside the repository, `pnpm gf` acts in the folder it was typed in, and every hint gf up and scripts/start.sh print works as printed", async () => {
  // a folder in the repository that is not a package: `pnpm gf` runs the root script from here
  const folder = await mkdtemp(join(REPO_ROOT, ".hints-"));
  cleanups.push(() => rm(folder, { recursive: true, force: true }));
  // start.sh's hints are printed for the repository root, where examples/ is
  await symlink(join(REPO_ROOT, "examples"), join(folder, "examples"));

  const up = spawn("pnpm", ["--silent", "gf", "up", "--port", "0", "--log-level", "warn"], {
    cwd: folder,
    env: repoEnv(),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  up.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  up.stderr.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  const exited = exitOf(up);
  const fleetPath = join(folder, ".gigafactory", "fleet.json");
  cleanups.push(async () => {
    const fleet = await readFleetFile(fleetPath).catch(() => undefined);
    if (fleet?.pid) process.kill(fleet.pid, "SIGINT");
    return exited;
  });
  // the fleet of the folder it was typed in, not of the repository root
  const fleet = await waitForFile(fleetPath, exited, () => output);
  for (let i = 0; i < 300 && !output.includes("Ctrl-C stops the fleet"); i++)
    await new Promise((r) => setTimeout(r, 100));

  // there is an examples/ here (as at the root), so gf up points at it
  const hints = hintsAfter(output, "the fleet is up");
  expect(hints).toEqual([
    "pnpm gf submit examples/hello.md --wait",
    "pnpm gf jobs",
    "pnpm gf factories",
    "pnpm gf logs ID -f",
  ]);
  const script = await readFile(join(REPO_ROOT, "scripts", "start.sh"), "utf8");
  const startHints = hintsAfter(script, "The hello job shipped.");
  expect(startHints).toEqual([
    "pnpm gf jobs",
    "pnpm gf submit --wait examples/with-verify.md",
    "pnpm gf logs <job-id> -f",
    "pnpm gf factories",
  ]);
  let jobId: string | undefined;
  for (const hint of [...hints, ...startHints]) {
    const command = hint.replace(/\bID\b|<job-id>/, jobId ?? "ID");
    const result = await sh(command, folder);
    expect({ command, code: result.code, stderr: result.stderr }).toEqual({ command, code: 0, stderr: "" });
    jobId ??= /(job_\S+)\t/.exec(result.stdout)?.[1];
    if (command.includes("submit")) expect(result.stdout).toMatch(/\tshipped\t/);
  }
  expect(jobId).toMatch(/^job_/);

  // Ctrl-C reaches gf up (pnpm only ran it): the fleet stops cleanly
  process.kill(fleet.pid as number, "SIGINT");
  expect(await exited).toBe(0);
  expect(output).toContain("the fleet is stopped");
});
