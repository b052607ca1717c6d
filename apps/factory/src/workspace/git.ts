import type { DiffStats } from "@gigafactory/schema";
import { execFile } from "node:child_process";
import { GIT_MAX_OUTPUT_BYTES, GIT_TIMEOUT_MS } from "../options.js";

/**
 * Runs git with a fixed identity (checkpoint commits must work on hosts with no git config).
 * node:child_process, not execa: execa and its dependencies cost an idle factory ~15 MB of RSS.
 */
export function git(
  cwd: string,
  args: string[],
  opts: { allowFail?: boolean } = {},
): Promise<{ stdout: string; exitCode: number }> {
  const argv = [
    "-c",
    "user.name=Gigafactory",
    "-c",
    "user.email=factory@gigafactory.invalid",
    "-c",
    "commit.gpgsign=false",
    ...args,
  ];
  return new Promise((resolve, reject) => {
    execFile(
      "git",
      argv,
      { cwd, timeout: GIT_TIMEOUT_MS, maxBuffer: GIT_MAX_OUTPUT_BYTES, encoding: "utf8" },
      (error, stdout, stderr) => {
        // a number when git ran and failed; a string code (ENOENT, ERR_CHILD_PROCESS_STDIO_MAXBUFFER) or none when killed
        const code = error ? (error as NodeJS.ErrnoException & { code?: unknown }).code : 0;
        const exitCode = typeof code === "number" ? code : error ? 1 : 0;
        // A git that could not start (e.g. a job's repo path that does not exist) has no stderr; the error says why.
        const why = String(stderr).trim() || (error ? error.message.split("\n")[0] : "");
        if (exitCode !== 0 && !opts.allowFail)
          return reject(new Error(`git ${args.join(" ")} in ${cwd} failed (${exitCode}): ${why}`));
        resolve({ stdout: String(stdout).replace(/\r?\n$/, ""), exitCode });
      },
    );
  });
}

const COMMIT_ID = /^[0-9a-f]{7,64}$/;

/**
 * `value` as a commit id (hex, 7 to 64 digits); throws otherwise. Commits that reach git from
 * outside this process (a checkpoint's `wipBase`, `wipCommit`) are checked with it, so a value
 * like `--output=<path>` can never be read as an option.
 */
export function commitId(value: string, what: string): string {
  if (!COMMIT_ID.test(value)) throw new Error(`${what} is not a commit id: ${JSON.stringify(value.slice(0, 80))}`);
  return value;
}

/** `value` as a revision to resolve (e.g. a job's `baseRef`): no leading `-`, no control characters, no `..`. */
export function revision(value: string, what: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (value === "" || value.startsWith("-") || /[\x00-\x20\x7f]|\.\./.test(value))
    throw new Error(`${what} is not a usable revision: ${JSON.stringify(value.slice(0, 80))}`);
  return value;
}

/** What changed between two commits: the stats and the patch (binary files included). */
export interface Changes {
  stats: DiffStats;
  patch: string;
}

/**
 * Files changed, lines added/deleted and the patch between two commits, from one `git diff
 * --numstat --binary -p`: git prints the numstat lines first (binary files count as changed,
 * with "-" for lines), a blank line, then the patch, exactly as `git diff --binary` alone would.
 */
export async function diffWithStats(
  run: (args: string[]) => Promise<{ stdout: string }>,
  from: string,
  to: string,
): Promise<Changes> {
  const { stdout } = await run(["diff", "--numstat", "--binary", "-p", "--end-of-options", from, to]);
  const stats = { filesChanged: 0, linesAdded: 0, linesDeleted: 0 };
  let offset = 0;
  while (offset < stdout.length) {
    const end = stdout.indexOf("\n", offset);
    const line = stdout.slice(offset, end === -1 ? stdout.length : end);
    const counts = /^(\d+|-)\t(\d+|-)\t/.exec(line);
    if (!counts) break;
    stats.filesChanged++;
    stats.linesAdded += Number(counts[1]) || 0;
    stats.linesDeleted += Number(counts[2]) || 0;
    offset = end === -1 ? stdout.length : end + 1;
  }
  // the blank line between the two parts
  const patch = stdout.slice(offset).replace(/^\n/, "");
  return { stats, patch };
}
