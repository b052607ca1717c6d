import { VERIFY_TAIL_MAX, type VerifyResult } from "@gigafactory/schema";
import { type OutputLine, spawnGroup } from "../engines/process.js";
import { VERIFY_TAIL_LINES } from "../options.js";
import type { JobSandbox } from "../sandbox/sandbox.js";

/** Runs verify gates in order in the workspace, each a `bash -c` in its own process group (in the job's sandbox); stops at the first failure. */
export async function runVerify(opts: {
  commands: string[];
  cwd: string;
  env: Record<string, string>;
  timeoutMs: number;
  signal: AbortSignal;
  killGraceMs: number;
  onLine: (gate: number, line: OutputLine) => void;
  /** The process group of the gate now running (its pid), and undefined once it is gone. */
  onGroup?: (pgid: number | undefined) => void;
  /** The job's sandbox; the gates run unsandboxed only when the factory was started with `--no-sandbox`. */
  sandbox?: JobSandbox;
}): Promise<VerifyResult> {
  const steps: VerifyResult["steps"] = [];
  for (const [index, command] of opts.commands.entries()) {
    const tail: string[] = [];
    const child = spawnGroup({
      file: "bash",
      args: ["-c", command],
      cwd: opts.cwd,
      env: opts.env,
      timeoutMs: opts.timeoutMs,
      signal: opts.signal,
      killGraceMs: opts.killGraceMs,
      ...(opts.sandbox ? { sandbox: opts.sandbox } : {}),
      onLine: (line) => {
        tail.push(line.line);
        if (tail.length > VERIFY_TAIL_LINES) tail.shift();
        opts.onLine(index, line);
      },
    });
    if (child.pid !== undefined) opts.onGroup?.(child.pid);
    const exit = await child.exit;
    opts.onGroup?.(undefined);
    const exitCode = exit.reason === "exited" ? exit.code : null;
    steps.push({
      command,
      exitCode,
      durationMs: Math.round(exit.durationMs),
      tail: tail.join("\n").slice(-VERIFY_TAIL_MAX),
    });
    if (exitCode !== 0) return { passed: false, steps };
  }
  return { passed: true, steps };
}
