import { type ChildProcess, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { type FleetFile, readFleetFile } from "../../src/index.js";
import { GF_MAIN, cleanEnv } from "./run-gf.js";

/** Resolves with a child's exit code once it has closed its output. */
export function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once("close", (code) => resolve(code)));
}

/** Polls for the fleet file `gf up` writes once everything is ready; fails if `gf up` exits first. */
export async function waitForFile(
  path: string,
  exited: Promise<number | null>,
  output: () => string,
): Promise<FleetFile> {
  let done: number | null | undefined;
  void exited.then((code) => (done = code));
  // bounded: 3,000 × 100 ms, well past the test timeout
  for (let i = 0; i < 3_000; i++) {
    if (done !== undefined) throw new Error(`gf up exited (${done}) before it was ready:\n${output()}`);
    try {
      await readFile(path);
      return await readFleetFile(path);
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw new Error(`no ${path}:\n${output()}`);
}

/** A `gf up` child: its process, everything it printed so far, and its exit. */
export interface GfUpProcess {
  up: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
  /** SIGINT (Ctrl-C) unless it has exited already, then its exit. */
  stop(): Promise<number | null>;
}

/** Starts `gf <args>` (`up …`) with a clean environment, collecting stdout and stderr together. */
export function startGfUp(args: string[]): GfUpProcess {
  const up = spawn(process.execPath, [GF_MAIN, ...args], { env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  up.stdout?.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  up.stderr?.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  const exited = exitOf(up);
  return {
    up,
    output: () => output,
    exited,
    stop() {
      if (up.exitCode === null) up.kill("SIGINT");
      return exited;
    },
  };
}
