import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";

export interface TempDir {
  path: string;
  file(name: string): string;
  remove(): void;
  /** `using dir = tempDir(…)`: removes it at the end of the scope. */
  [Symbol.dispose](): void;
}

export function tempDir(label: string): TempDir {
  const path = mkdtempSync(join(tmpdir(), `gf-${label}-`));
  const remove = () => rmSync(path, { recursive: true, force: true });
  return { path, file: (name) => join(path, name), remove, [Symbol.dispose]: remove };
}

/** Runs git with a fixed identity; returns trimmed stdout, throws on a non-zero exit. */
export async function git(cwd: string, ...args: string[]): Promise<string> {
  const result = await execa(
    "git",
    ["-c", "user.name=Test", "-c", "user.email=test@example.invalid", "-c", "commit.gpgsign=false", ...args],
    { cwd },
  );
  return String(result.stdout).trim();
}

/** Exit code of a git command that may fail (e.g. `cat-file -e`). */
export async function gitStatus(cwd: string, ...args: string[]): Promise<number> {
  const result = await execa("git", args, { cwd, reject: false });
  return result.exitCode ?? 1;
}

/** A real repository with one commit on `main` (a README), in a temp dir of its own. */
export async function tempRepo(label: string): Promise<TempDir> {
  const dir = tempDir(`${label}-repo`);
  await git(dir.path, "init", "-q", "-b", "main");
  await execa("bash", ["-c", "echo '# test repo' > README.md"], { cwd: dir.path });
  await git(dir.path, "add", "README.md");
  await git(dir.path, "commit", "-q", "-m", "initial commit");
  return dir;
}

/** The worktree paths `git worktree list --porcelain` reports (the main one first). */
export async function worktrees(repo: string): Promise<string[]> {
  const out = await git(repo, "worktree", "list", "--porcelain");
  return out
    .split("\n")
    .filter((line) => line.startsWith("worktree "))
    .map((line) => line.slice("worktree ".length));
}

/** Things a test made (temp dirs, repos, processes left running on purpose) and undoes in afterEach. */
export class Scratch {
  private readonly undo: (() => void | Promise<void>)[] = [];

  defer(fn: () => void | Promise<void>): void {
    this.undo.push(fn);
  }

  dir(label: string): TempDir {
    const dir = tempDir(label);
    this.defer(() => dir.remove());
    return dir;
  }

  async repo(label: string): Promise<TempDir> {
    const repo = await tempRepo(label);
    this.defer(() => repo.remove());
    return repo;
  }

  /** `await using scratch = new Scratch()`: cleans up at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.clean();
  }

  /** Runs every cleanup, newest first, even if one fails. */
  async clean(): Promise<void> {
    const errors: unknown[] = [];
    for (const fn of this.undo.splice(0).reverse()) {
      try {
        await fn();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length) throw new AggregateError(errors, "test cleanup failed");
  }
}
