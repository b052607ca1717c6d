import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The built CLI, run the way users run it. */
export const GF_MAIN = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));
export const REPO_ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
export const EXAMPLES = fileURLToPath(new URL("../../../../examples/", import.meta.url));

export interface GfResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunGfOptions {
  /** Laid over a clean environment: no GF_* from the outer shell, no colour. */
  env?: Record<string, string>;
  cwd?: string;
  input?: string;
  /** A safety net so a hung CLI fails the test instead of hanging it. @default 60000 */
  timeoutMs?: number;
}

/** The parent's environment without anything that would steer `gf` (GF_*, colour). */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith("GF_") || key === "FORCE_COLOR" || key === "NO_COLOR") continue;
    env[key] = value;
  }
  return { ...env, NO_COLOR: "1", ...extra };
}

/** Runs `node dist/cli/main.js ...args` to the end. */
export function runGf(args: string[], opts: RunGfOptions = {}): Promise<GfResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [GF_MAIN, ...args], {
      env: cleanEnv(opts.env),
      cwd: opts.cwd ?? REPO_ROOT,
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`gf ${args.join(" ")} did not finish in time\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, opts.timeoutMs ?? 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? "");
  });
}

/** `--json` output, parsed; fails with the CLI's output when it is not JSON. */
export function parseJson<T>(result: GfResult): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${result.code}):\n${result.stdout}\nstderr:\n${result.stderr}`);
  }
}
