import { type ChildProcess, execFile, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
/** Every package a product install needs, the product last. */
export const PACKAGES = [
  "packages/schema",
  "packages/devdb",
  "packages/sdk",
  "apps/coordinator",
  "apps/factory",
  "packages/gigafactory",
];

export const run = promisify(execFile);

/**
 * The environment of a user who installed the product: no GF_*, no NODE_PATH, no npm_/pnpm_
 * variables from the `pnpm test` that runs us (npm would read them as its config), and PATH
 * starting with the prefix's bin.
 */
export function userEnv(binDir?: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(GF_|NODE_PATH$|NODE_OPTIONS$|INIT_CWD$|FORCE_COLOR$|VITEST|npm_|pnpm_)/i.test(key)) continue;
    env[key] = value;
  }
  env.NO_COLOR = "1";
  if (binDir) env.PATH = `${binDir}:${env.PATH ?? "/usr/bin:/bin"}`;
  return env;
}

export interface Started {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

export function start(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Started {
  const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/** A shell command as a user types it (`sh -c`), to the end; never rejects. */
export async function shell(
  command: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run("sh", ["-c", command], { cwd, env, timeout: 300_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? 1, stdout: failed.stdout ?? "", stderr: failed.stderr ?? String(error) };
  }
}

/**
 * The commands a "Next, …:" block prints: the indented lines after `header`, up to the first
 * line that is not indented; a `# comment` is dropped and a line holding several commands
 * (separated by 3+ spaces) gives each.
 */
export function hintsAfter(output: string, header: string): string[] {
  const lines = output.split("\n");
  const at = lines.findIndex((line) => line.includes(header));
  if (at < 0) return [];
  const hints: string[] = [];
  for (const line of lines.slice(at + 1)) {
    if (!line.startsWith("  ")) break;
    const command = line.replace(/#.*$/, "").trim();
    hints.push(...command.split(/\s{3,}/).filter(Boolean));
  }
  return hints;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
