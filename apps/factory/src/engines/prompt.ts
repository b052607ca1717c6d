import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * How an agent CLI is called for one job. The prompt never travels in argv: every user on
 * the host can read `/proc/<pid>/cmdline`. It goes on stdin or in a 0600 file instead.
 */
export interface Invocation {
  args: string[];
  /** The prompt, written to the child's stdin. */
  input: string;
}

/** For engines without a system-prompt flag: the persona goes ahead of the instructions. */
export function withPersona(body: string, persona: string | undefined): string {
  if (persona === undefined || persona.trim() === "") return body;
  return `${persona.trim()}\n\n---\n\n${body}`;
}

/** Whether the user's extra arguments already contain any of `flags` (as `--f` or `--f=v`). */
export function hasFlag(args: readonly string[] | undefined, flags: readonly string[]): boolean {
  return (args ?? []).some((arg) => flags.some((flag) => arg === flag || arg.startsWith(`${flag}=`)));
}

export interface TempFile {
  path: string;
  remove(): Promise<void>;
}

/**
 * Writes `content` to a fresh private directory under the OS temp dir, not the workspace:
 * the workspace is committed and diffed after the run, and must only hold the agent's work.
 * Synchronous so that `Engine.run` can hand out the child's pid right away.
 */
export function writeTempFile(name: string, content: string): TempFile {
  const dir = mkdtempSync(join(tmpdir(), "gf-engine-"));
  const path = join(dir, name);
  writeFileSync(path, content, { mode: 0o600 });
  // one file and its folder: removed at once, not after a round of the thread pool on the job's path to done
  return { path, remove: async () => rmSync(dir, { recursive: true, force: true }) };
}
