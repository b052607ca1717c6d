import { chmod, mkdir, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { join, resolve, sep } from "node:path";
import type { Checkpoint, DiffStats, Job } from "@gigafactory/schema";
import { type GroupIdentity, groupIdentity, isGroupAlive, isSameGroup, killGroup } from "../engines/process-group.js";
import type { Logger } from "../logger.js";
import { LEFTOVER_KILL_GRACE_MS } from "../options.js";
import { type Changes, commitId, diffWithStats, git, revision } from "./git.js";

/** What a leftover workspace needs for cleanup after a crash. */
interface WorkspaceRecord {
  jobId: string;
  path: string;
  repo?: string;
  /**
   * Process groups of engines and verify gates run in it: a daemon killed with SIGKILL leaves
   * them behind. With their identity, so a restart long after does not kill a reused id.
   */
  groups?: GroupIdentity[];
  /**
   * The job ended for good (shipped, failed, cancelled): its branch goes with the workspace. Set
   * before the branch is deleted, so a crash in between leaves the deletion to {@link cleanupLeftovers}.
   */
  finished?: { branch: string; at: string };
}

/** The job branch is not where this workspace left it: another holder of the job moved it. */
export class BranchMovedError extends Error {
  constructor(
    readonly branch: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`branch ${branch} moved to ${actual.slice(0, 12)} (this workspace left it at ${expected.slice(0, 12)})`);
    this.name = "BranchMovedError";
  }
}

/**
 * A job's working directory: a git worktree (detached; its commits are kept on branch
 * `gf/<jobId>`) when the job names a repository, resuming from its checkpoint commit when there
 * is one; else a fresh directory made into a throwaway repository so diff stats work the same way.
 * With `lazyGit` that throwaway repository is made only once there is something to commit: a job
 * that leaves its directory empty (most shell jobs without a repository) runs no git at all.
 * The branch outlives an attempt that gives the job back (the next one resumes from it); a shipped
 * job's branch is its deliverable and stays; a job that failed or was cancelled for good has its
 * branch deleted (`cleanup({ dropBranch: true })`), its partial result staying in its diff artifact.
 */
export class Workspace {
  /** Where this workspace last put the job branch: the only value it may move the branch from. */
  private branchAt: string;
  /** Set once the lease is lost: the branch then belongs to another holder. */
  private frozen = false;
  private recording: Promise<void> = Promise.resolve();
  /** Set by `cleanup()`: the record is gone and no write may bring it back. */
  private cleaned = false;
  /** The commit the last WIP commit left HEAD at, and what changed from the base to it (read once). */
  private head: string | undefined;
  private changes: { head: string; read: Promise<Changes> } | undefined;

  private constructor(
    readonly path: string,
    readonly branch: string,
    /**
     * The commit the job started from (its first attempt's base when resuming); undefined while a
     * lazy throwaway repository is not made yet.
     */
    private base: string | undefined,
    startCommit: string,
    private readonly repo: string | undefined,
    private readonly recordFile: string,
    private readonly record: WorkspaceRecord,
    /**
     * A lazy throwaway repository's git dir, beside the workspace and outside the sandbox: made
     * after the engine ran, it must not be one the job could have planted (a `.git` of the job's
     * own, with a core.fsmonitor or hooks the factory's git would run).
     */
    private readonly outsideGitDir?: string,
  ) {
    this.branchAt = startCommit;
  }

  /** git in this workspace (with the outside git dir when there is one). */
  private git(args: string[], opts: { allowFail?: boolean } = {}): ReturnType<typeof git> {
    const where = this.outsideGitDir ? ["--git-dir", this.outsideGitDir, "--work-tree", this.path] : [];
    return git(this.path, [...where, ...args], opts);
  }

  static async prepare(
    job: Pick<Job, "_id" | "repo" | "baseRef" | "checkpoint">,
    opts: { workDir: string; epoch: number; lazyGit?: boolean },
  ): Promise<Workspace> {
    const path = join(opts.workDir, "jobs", `${job._id}-e${opts.epoch}`);
    const recordFile = join(opts.workDir, "jobs", `${job._id}-e${opts.epoch}.json`);
    const branch = `gf/${job._id}`;
    const repo = job.repo ? resolve(job.repo) : undefined;
    const record: WorkspaceRecord = { jobId: job._id, path, ...(repo ? { repo } : {}) };
    await jobsDir(opts.workDir);
    // the record and the clearing of the path are independent: a crash in between leaves either a
    // record (its path is removed on start) or a folder with no record (removed on start too)
    await Promise.all([
      writeFile(recordFile, JSON.stringify(record), { mode: 0o600 }),
      rm(path, { recursive: true, force: true }),
    ]).catch((error: unknown) => {
      // the folder went away under the factory: the next job makes it again
      jobsDirs.delete(join(opts.workDir, "jobs"));
      throw error;
    });
    try {
      return await Workspace.create(job, { path, branch, repo, recordFile, record, lazyGit: opts.lazyGit ?? false });
    } catch (error) {
      // nothing of a workspace that could not be made stays behind (directory, worktree, record)
      await removeWorkspace(record).catch(() => undefined);
      await rm(recordFile, { force: true });
      throw error;
    }
  }

  private static async create(
    job: Pick<Job, "_id" | "repo" | "baseRef" | "checkpoint">,
    at: {
      path: string;
      branch: string;
      repo: string | undefined;
      recordFile: string;
      record: WorkspaceRecord;
      lazyGit: boolean;
    },
  ): Promise<Workspace> {
    const { path, branch, repo, recordFile, record } = at;
    // refs from outside (the job, its checkpoint) never reach git where an option could go
    const wipBase = job.checkpoint ? commitId(job.checkpoint.wipBase, "checkpoint.wipBase") : undefined;
    if (repo) {
      const start = job.checkpoint
        ? commitId(job.checkpoint.wipCommit, "checkpoint.wipCommit")
        : revision(job.baseRef ?? "HEAD", "baseRef");
      const startCommit = commitId(
        (await git(repo, ["rev-parse", "--verify", "--end-of-options", `${start}^{commit}`])).stdout,
        "the start commit",
      );
      // Detached, so the branch is checked out in no worktree: one an earlier holder of this job
      // still has (SIGKILLed, paused past its lease, or still cleaning up after a release) would
      // otherwise make `worktree add -B` fail. The branch moves by ref updates (here, commitWip).
      // `--force` also takes this path over when a crashed run left it registered but gone (each
      // workspace's removal prunes the rest). The branch and the worktree take different locks.
      await Promise.all([
        git(repo, ["update-ref", `refs/heads/${branch}`, startCommit]),
        git(repo, ["worktree", "add", "--force", "--detach", path, startCommit]),
      ]);
      await chmod(path, 0o700);
      return new Workspace(path, branch, wipBase ?? startCommit, startCommit, repo, recordFile, record);
    }
    await mkdir(path, { recursive: true, mode: 0o700 });
    if (at.lazyGit)
      return new Workspace(path, branch, undefined, "", undefined, recordFile, record, outsideGitDirOf(path));
    const base = await initThrowaway(path, branch);
    return new Workspace(path, branch, base, base, undefined, recordFile, record);
  }

  /**
   * The base commit, making the lazy throwaway repository first; undefined when there is none and
   * the directory is empty (nothing to commit, nothing changed).
   */
  private async baseForChanges(): Promise<string | undefined> {
    if (this.base !== undefined) return this.base;
    if ((await readdir(this.path)).length === 0) return undefined;
    // a fresh git dir: never one left from before (or planted)
    if (this.outsideGitDir) await rm(this.outsideGitDir, { recursive: true, force: true });
    this.base = await initThrowaway(this.path, this.branch, this.outsideGitDir);
    this.branchAt = this.base;
    return this.base;
  }

  /** True when checkpoints can be resumed by another factory (the branch lives in the job's repository). */
  get shareable(): boolean {
    return this.repo !== undefined;
  }

  /**
   * Commits whatever the engine left as a WIP commit and moves the job branch to it; undefined
   * when nothing changed since the base. When the branch was moved by someone else (a stale
   * holder), `confirmHolder` must prove this workspace's lease is current (it throws when not);
   * then the branch is taken back.
   */
  async commitWip(message: string, confirmHolder: () => Promise<void>): Promise<Checkpoint | undefined> {
    const base = await this.baseForChanges();
    if (base === undefined) return undefined;
    await this.git(["add", "-A"]);
    // nothing staged makes commit fail; only then is it asked whether that was all
    const committed = await this.git(["commit", "-q", "--no-verify", "-m", message], { allowFail: true });
    if (committed.exitCode !== 0) {
      const staged = await this.git(["diff", "--cached", "--quiet"], { allowFail: true });
      if (staged.exitCode !== 0) await this.git(["commit", "-q", "--no-verify", "-m", message]);
    }
    const head = commitId((await this.git(["rev-parse", "HEAD"])).stdout, "HEAD");
    this.head = head;
    try {
      await this.moveBranch(head);
    } catch (error) {
      if (!(error instanceof BranchMovedError)) throw error;
      await confirmHolder();
      this.branchAt = error.actual;
      await this.moveBranch(head);
    }
    if (head === base) return undefined;
    return { wipBranch: this.branch, wipBase: base, wipCommit: head };
  }

  /**
   * Compare-and-set: the branch moves only from where this workspace left it, so a stale holder
   * cannot move it past a newer holder's commit. {@link BranchMovedError} when it moved.
   */
  private async moveBranch(commit: string): Promise<void> {
    if (!this.repo || this.frozen) return;
    const ref = `refs/heads/${this.branch}`;
    const update = await this.git(["update-ref", "--end-of-options", ref, commit, this.branchAt], {
      allowFail: true,
    });
    if (update.exitCode !== 0) {
      // "" when the branch was deleted (update-ref then takes "" as "must not exist")
      const actual = (await this.git(["rev-parse", "--verify", "-q", "--end-of-options", ref], { allowFail: true }))
        .stdout;
      if (actual !== this.branchAt) throw new BranchMovedError(this.branch, this.branchAt, actual);
      await this.git(["update-ref", "--end-of-options", ref, commit, this.branchAt]);
    }
    this.branchAt = commit;
  }

  /** The lease is lost: from now on this workspace moves no ref; the branch is the new holder's. */
  freeze(): void {
    this.frozen = true;
  }

  /** The committed changes' stats; zero without git while a lazy repository was never needed. */
  async diffStats(): Promise<DiffStats> {
    return (await this.committedChanges()).stats;
  }

  /** The committed changes as a patch; "" without git while a lazy repository was never needed. */
  async diff(): Promise<string> {
    return (await this.committedChanges()).patch;
  }

  /** Stats and patch of base..HEAD, one git run per WIP commit (the stats and the diff artifact share it). */
  private committedChanges(): Promise<Changes> {
    const base = this.base;
    if (base === undefined)
      return Promise.resolve({ stats: { filesChanged: 0, linesAdded: 0, linesDeleted: 0 }, patch: "" });
    const head = this.head ?? "HEAD";
    if (this.changes?.head !== head || head === "HEAD")
      this.changes = { head, read: diffWithStats((args) => this.git(args), base, head) };
    return this.changes.read;
  }

  /** Notes a process group (engine or verify gate) in the workspace record, for {@link cleanupLeftovers} after a crash. */
  recordGroup(pgid: number): Promise<void> {
    // identity now, while the leader surely runs; writes one after another, each the whole record
    this.record.groups = [...(this.record.groups ?? []), groupIdentity(pgid)];
    return this.saveRecord();
  }

  /** Writes the record whole; writes run one after another, and none once the workspace is cleaned up. */
  private saveRecord(): Promise<void> {
    const record = JSON.stringify(this.record);
    this.recording = this.recording
      .catch(() => undefined)
      .then(() => (this.cleaned ? undefined : writeFile(this.recordFile, record, { mode: 0o600 })));
    return this.recording;
  }

  /**
   * Removes the worktree or directory and the record. The branch (and its commits) stays in the
   * repository (for the job's next attempt, or as a shipped job's result), unless `dropBranch`: then it is deleted too, when it
   * is still where this workspace left it (a frozen workspace, whose lease was lost, deletes nothing).
   */
  async cleanup(opts: { dropBranch?: boolean } = {}): Promise<void> {
    const ref = `refs/heads/${this.branch}`;
    if (opts.dropBranch && this.repo && !this.frozen) {
      this.record.finished = { branch: ref, at: this.branchAt };
      await this.saveRecord();
    }
    await this.recording.catch(() => undefined);
    this.cleaned = true;
    await removeWorkspace(this.record);
    await rm(this.recordFile, { force: true });
  }
}

/**
 * Makes `path` a repository whose branch `branch` has one empty commit; returns that commit. With
 * `gitDir`, the repository's metadata lives there rather than in `path/.git`.
 */
async function initThrowaway(path: string, branch: string, gitDir?: string): Promise<string> {
  const where = gitDir ? ["--git-dir", gitDir, "--work-tree", path] : [];
  await git(path, [...where, "init", "-q", "-b", branch]);
  await git(path, [...where, "commit", "-q", "--allow-empty", "-m", "gf: empty workspace"]);
  return (await git(path, [...where, "rev-parse", "HEAD"])).stdout;
}

/** Where a lazy workspace keeps its git dir: beside it, in the factory's jobs folder. */
function outsideGitDirOf(path: string): string {
  return `${path}.git`;
}

/** Removes a workspace's worktree (or directory) and, for a finished job, its branch. */
async function removeWorkspace(record: WorkspaceRecord): Promise<void> {
  if (record.repo) await git(record.repo, ["worktree", "remove", "--force", record.path], { allowFail: true });
  await rm(record.path, { recursive: true, force: true });
  if (!record.repo) await rm(outsideGitDirOf(record.path), { recursive: true, force: true });
  if (record.repo) await git(record.repo, ["worktree", "prune"], { allowFail: true });
  if (record.repo && record.finished) await deleteBranch(record.repo, record.finished.branch, record.finished.at);
}

/** Deletes a finished job's branch if it is still at `at` (compare-and-delete: a newer holder's branch stays). */
async function deleteBranch(repo: string, ref: string, at: string): Promise<void> {
  if (!/^refs\/heads\/gf\/[^\s]+$/.test(ref)) throw new Error(`not a job branch: ${ref}`);
  const deleted = await git(repo, ["update-ref", "-d", "--end-of-options", ref, commitId(at, "finished.at")], {
    allowFail: true,
  });
  if (deleted.exitCode === 0) return;
  const now = (await git(repo, ["rev-parse", "--verify", "-q", "--end-of-options", ref], { allowFail: true })).stdout;
  // gone already, or moved by someone else: not ours to delete
  if (now === at) throw new Error(`could not delete ${ref} in ${repo}`);
}

/**
 * On start: remove the workspaces a previous run of this factory left behind (a crash, a SIGKILL).
 * A record that cannot be read or acted on (truncated by the crash) is logged and removed; it
 * does not stop the others, nor the factory.
 */
export async function cleanupLeftovers(workDir: string, logger: Logger): Promise<number> {
  const dir = join(workDir, "jobs");
  const entries = await readdir(dir).catch(() => [] as string[]);
  let removed = 0;
  for (const name of entries.filter((entry) => entry.endsWith(".json"))) {
    const file = join(dir, name);
    try {
      const record = JSON.parse(await readFile(file, "utf8")) as WorkspaceRecord;
      if (typeof record.path !== "string" || !resolve(record.path).startsWith(`${resolve(dir)}${sep}`))
        throw new Error(`record names no workspace under ${dir}`);
      // an engine orphaned by a crash of this daemon must not go on working (and spending) for a lease it lost
      for (const group of record.groups ?? [])
        if (isGroupAlive(group.pgid) && isSameGroup(group)) await killGroup(group.pgid, LEFTOVER_KILL_GRACE_MS);
      await removeWorkspace(record);
      removed++;
    } catch (error) {
      logger.warn({ err: error, file }, "could not clean up after a leftover workspace record; removing the record");
    } finally {
      await rm(file, { force: true });
    }
  }
  // directories with no record (crash between mkdir and record) go too
  for (const name of await readdir(dir).catch(() => [] as string[]))
    await rm(join(dir, name), { recursive: true, force: true });
  return removed;
}

const jobsDirs = new Map<string, Promise<void>>();

/** The work dir's private `jobs` folder, made (or tightened) once per process. */
function jobsDir(workDir: string): Promise<void> {
  const path = join(workDir, "jobs");
  let made = jobsDirs.get(path);
  if (!made) {
    made = privateDir(path);
    // a failure is tried again by the next job
    made.catch(() => jobsDirs.delete(path));
    jobsDirs.set(path, made);
  }
  return made;
}

/**
 * A folder only the factory's user can enter (0700), also when it existed before with a looser
 * mode: `mkdir` applies a mode only to what it creates. Workspaces hold the jobs' code and prompts.
 */
export async function privateDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o700 });
  await chmod(path, 0o700);
}
