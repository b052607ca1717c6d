import type { ChildProcess } from "node:child_process";
import { readFile } from "node:fs/promises";
import { type FleetFile, readFleetFile } from "../../src/index.js";

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
