import { mkdir, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Checkpoint, Job } from "@gigafactory/schema";
import { isGroupAlive, killGroup } from "../engines/process.js";
import { diffStats, git } from "./git.js";

/** What a leftover workspace needs for cleanup after a crash. */
interface WorkspaceRecord {
  jobId: string;
  path: string;
  repo?: string;
  /** Process groups of engines running in it: a daemon killed with SIGKILL leaves them behind. */
  pgids?: number[];
}

export interface DiffStats {
  filesChanged: number;
  linesAdded: number;
  linesDeleted: number;
}

/**
 * A job's working directory: a git worktree (detached; its commits are kept on branch
 * `gf/<jobId>`) when the job names a repository, resuming from its checkpoint commit when there
 * is one; else a fresh directory made into a throwaway repository so diff stats work the same way.
 */
export class Workspace {
  private constructor(
    readonly path: string,
    readonly branch: string,
    /** The commit the job started from (its first attempt's base when resuming). */
    readonly base: string,
    private readonly repo: string | undefined,
    private readonly recordFile: string,
  ) {}

  static async prepare(job: Pick<Job, "_id" | "repo" | "baseRef" | "checkpoint">, opts: { workDir: string; epoch: number }): Promise<Workspace> {
    const path = join(opts.workDir, "jobs", `${job._id}-e${opts.epoch}`);
    const recordFile = join(opts.workDir, "jobs", `${job._id}-e${opts.epoch}.json`);
    const branch = `gf/${job._id}`;
    await rm(path, { recursive: true, force: true });
    await mkdir(join(opts.workDir, "jobs"), { recursive: true });
    const repo = job.repo ? resolve(job.repo) : undefined;
    await writeFile(recordFile, JSON.stringify({ jobId: job._id, path, ...(repo ? { repo } : {}) } satisfies WorkspaceRecord));
    if (repo) {
      const start = job.checkpoint?.wipCommit ?? job.baseRef ?? "HEAD";
      const startCommit = (await git(repo, ["rev-parse", "--verify", `${start}^{commit}`])).stdout;
      await git(repo, ["worktree", "prune"]);
      // Detached, so the branch is checked out in no worktree: one an earlier holder of this job
      // still has (SIGKILLed, paused past its lease, or still cleaning up after a release) would
      // otherwise make `worktree add -B` fail. The branch moves by ref updates (here, commitWip).
      await git(repo, ["update-ref", `refs/heads/${branch}`, startCommit]);
      await git(repo, ["worktree", "add", "--force", "--detach", path, startCommit]);
      return new Workspace(path, branch, job.checkpoint?.wipBase ?? startCommit, repo, recordFile);
    }
    await mkdir(path, { recursive: true });
    await git(path, ["init", "-q", "-b", branch]);
    await git(path, ["commit", "-q", "--allow-empty", "-m", "gf: empty workspace"]);
    const base = (await git(path, ["rev-parse", "HEAD"])).stdout;
    return new Workspace(path, branch, base, undefined, recordFile);
  }

  /** True when checkpoints can be resumed by another factory (the branch lives in the job's repository). */
  get shareable(): boolean {
    return this.repo !== undefined;
  }

  /** Commits whatever the engine left as a WIP commit; undefined when nothing changed since the base. */
  async commitWip(message: string): Promise<Checkpoint | undefined> {
    await git(this.path, ["add", "-A"]);
    const staged = await git(this.path, ["diff", "--cached", "--quiet"], { allowFail: true });
    if (staged.exitCode !== 0) await git(this.path, ["commit", "-q", "--no-verify", "-m", message]);
    const head = (await git(this.path, ["rev-parse", "HEAD"])).stdout;
    if (this.repo) await git(this.path, ["update-ref", `refs/heads/${this.branch}`, head]);
    if (head === this.base) return undefined;
    return { wipBranch: this.branch, wipBase: this.base, wipCommit: head };
  }

  diffStats(): Promise<DiffStats> {
    return diffStats(this.path, this.base, "HEAD");
  }

  async diff(): Promise<string> {
    return (await git(this.path, ["diff", "--binary", this.base, "HEAD"])).stdout;
  }

  /** Notes an engine's process group in the workspace record, for {@link cleanupLeftovers} after a crash. */
  async recordEngine(pgid: number): Promise<void> {
    const record = JSON.parse(await readFile(this.recordFile, "utf8")) as WorkspaceRecord;
    await writeFile(this.recordFile, JSON.stringify({ ...record, pgids: [...(record.pgids ?? []), pgid] } satisfies WorkspaceRecord));
  }

  /** Removes the worktree or directory; the branch (and its commits) stays in the repository. */
  async cleanup(): Promise<void> {
    await removeWorkspace({ jobId: "", path: this.path, ...(this.repo ? { repo: this.repo } : {}) });
    await rm(this.recordFile, { force: true });
  }
}

async function removeWorkspace(record: WorkspaceRecord): Promise<void> {
  if (record.repo) await git(record.repo, ["worktree", "remove", "--force", record.path], { allowFail: true });
  await rm(record.path, { recursive: true, force: true });
  if (record.repo) await git(record.repo, ["worktree", "prune"], { allowFail: true });
}

/** On start: remove the workspaces a previous run of this factory left behind (a crash, a SIGKILL). */
export async function cleanupLeftovers(workDir: string): Promise<number> {
  const dir = join(workDir, "jobs");
  const entries = await readdir(dir).catch(() => [] as string[]);
  let removed = 0;
  for (const name of entries.filter((entry) => entry.endsWith(".json"))) {
    const file = join(dir, name);
    try {
      const record = JSON.parse(await readFile(file, "utf8")) as WorkspaceRecord;
      // an engine orphaned by a crash of this daemon must not go on working (and spending) for a lease it lost
      for (const pgid of record.pgids ?? []) if (isGroupAlive(pgid)) await killGroup(pgid, 2_000);
      await removeWorkspace(record);
      removed++;
    } finally {
      await rm(file, { force: true });
    }
  }
  // directories with no record (crash between mkdir and record) go too
  for (const name of await readdir(dir).catch(() => [] as string[])) await rm(join(dir, name), { recursive: true, force: true });
  return removed;
}
