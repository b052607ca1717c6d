import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { git, Scratch } from "../../test/support/temp.js";
import { groupExists, killGroupQuietly, waitGroupGone } from "../../test/support/procs.js";
import { groupIdentity } from "../engines/process-group.js";
import { cleanupLeftovers, Workspace } from "./workspace.js";

const scratch = new Scratch();
afterEach(() => scratch.clean());
const logger = pino({ level: "silent" });
const hasProc = existsSync("/proc/self/stat");

async function twoHolders(label: string) {
  const repo = await scratch.repo(label);
  const work = scratch.dir(`${label}-work`);
  const job = { _id: `job_${label}` };
  const branch = `refs/heads/gf/${job._id}`;
  const prepare = (epoch: number) => Workspace.prepare({ ...job, repo: repo.path }, { workDir: work.path, epoch });
  const edit = (workspace: Workspace, text: string) => writeFileSync(join(workspace.path, "work.txt"), `${text}\n`);
  return { repo, branch, prepare, edit, head: () => git(repo.path, "rev-parse", branch) };
}

const confirmed = async () => undefined;
const stale = async () => {
  throw new Error("FENCED");
};

describe("the job branch moves only from where a holder left it (compare-and-set)", () => {
  it("a stale holder cannot move it past a newer holder's commit", async () => {
    const { prepare, edit, head } = await twoHolders("cas-stale");
    const older = await prepare(1);
    const newer = await prepare(2);
    edit(newer, "newer");
    const checkpoint = await newer.commitWip("newer WIP", confirmed);
    expect(await head()).toBe(checkpoint?.wipCommit);

    edit(older, "older");
    // the stale holder's lease check fails, so it may not take the branch
    await expect(older.commitWip("older WIP", stale)).rejects.toThrow("FENCED");
    expect(await head()).toBe(checkpoint?.wipCommit);
  });

  it("the current holder takes back a branch a stale holder moved, once its lease is confirmed", async () => {
    const { prepare, edit, head } = await twoHolders("cas-retake");
    const older = await prepare(1);
    const newer = await prepare(2);
    edit(older, "older");
    const moved = await older.commitWip("older WIP", confirmed);
    expect(await head()).toBe(moved?.wipCommit);

    edit(newer, "newer");
    let confirmations = 0;
    const checkpoint = await newer.commitWip("newer WIP", async () => {
      confirmations++;
    });
    expect(confirmations).toBe(1);
    expect(await head()).toBe(checkpoint?.wipCommit);
    expect(checkpoint?.wipCommit).not.toBe(moved?.wipCommit);
  });

  it("a frozen workspace (its lease lost) commits locally but moves no ref", async () => {
    const { prepare, edit, head } = await twoHolders("cas-frozen");
    const workspace = await prepare(1);
    const before = await head();
    workspace.freeze();
    edit(workspace, "after the fence");
    await workspace.commitWip("late WIP", confirmed);
    expect(await head()).toBe(before);
  });
});

describe("cleanupLeftovers", () => {
  function leftovers(label: string) {
    const work = scratch.dir(label);
    const jobs = join(work.path, "jobs");
    mkdirSync(jobs, { recursive: true });
    const record = (name: string, content: string) => {
      mkdirSync(join(jobs, name), { recursive: true });
      writeFileSync(join(jobs, `${name}.json`), content);
    };
    return { work: work.path, jobs, record };
  }

  /** A detached `sleep` (leader of its own process group), killed when the test ends. */
  function sleeper(): number {
    const child = spawn("sleep", ["1000"], { detached: true, stdio: "ignore" });
    child.unref();
    const pid = child.pid;
    if (pid === undefined) throw new Error("sleep did not start");
    scratch.defer(() => killGroupQuietly(pid));
    return pid;
  }

  it("deletes the branch of a job a record marks finished (a crash between the end and the cleanup), and keeps the others", async () => {
    const repo = await scratch.repo("leftover-finished");
    const work = scratch.dir("leftover-finished-work").path;
    const finished = await Workspace.prepare({ _id: "job_done", repo: repo.path }, { workDir: work, epoch: 1 });
    const going = await Workspace.prepare({ _id: "job_going", repo: repo.path }, { workDir: work, epoch: 1 });
    const head = await git(repo.path, "rev-parse", "HEAD");
    // as `cleanup({ dropBranch: true })` leaves it when the daemon dies before removing anything
    const recordFile = join(work, "jobs", "job_done-e1.json");
    writeFileSync(
      recordFile,
      JSON.stringify({
        jobId: "job_done",
        path: finished.path,
        repo: repo.path,
        finished: { branch: "refs/heads/gf/job_done", at: head },
      }),
    );
    expect(await cleanupLeftovers(work, logger)).toBe(2);
    expect(await git(repo.path, "branch", "--list", "gf/*")).toBe("gf/job_going");
    expect(existsSync(going.path)).toBe(false);
    expect(readdirSync(join(work, "jobs"))).toEqual([]);
  });

  it("logs and removes a truncated record, and still cleans up the others", async () => {
    const { work, jobs, record } = leftovers("corrupt");
    record("job_bad-e1", '{"jobId":"job_bad","pa');
    record("job_good-e2", JSON.stringify({ jobId: "job_good", path: join(jobs, "job_good-e2") }));
    expect(await cleanupLeftovers(work, logger)).toBe(1);
    expect(readdirSync(jobs)).toEqual([]);
  });

  it("does not remove a path outside its work dir that a record names", async () => {
    const { work, jobs, record } = leftovers("outside");
    const outside = scratch.dir("outside-target");
    writeFileSync(outside.file("keep.txt"), "keep\n");
    record("job_far-e1", JSON.stringify({ jobId: "job_far", path: outside.path }));
    expect(await cleanupLeftovers(work, logger)).toBe(0);
    expect(existsSync(outside.file("keep.txt"))).toBe(true);
    expect(readdirSync(jobs)).toEqual([]);
  });

  it.skipIf(!hasProc)("kills a recorded process group whose leader is still the one recorded", async () => {
    const { work, jobs, record } = leftovers("same-group");
    const pgid = sleeper();
    record(
      "job_orphan-e1",
      JSON.stringify({ jobId: "job_orphan", path: join(jobs, "job_orphan-e1"), groups: [groupIdentity(pgid)] }),
    );
    await cleanupLeftovers(work, logger);
    await waitGroupGone(pgid);
  });

  it.skipIf(!hasProc)(
    "leaves alone a group whose id now belongs to another process (other start time, or other boot)",
    async () => {
      const { work, jobs, record } = leftovers("reused-id");
      const pgid = sleeper();
      const identity = groupIdentity(pgid);
      expect(identity.startTime).toMatch(/^\d+$/);
      const earlier = String(Number(identity.startTime) - 1);
      record(
        "job_old-e1",
        JSON.stringify({
          jobId: "job_old",
          path: join(jobs, "job_old-e1"),
          groups: [{ ...identity, startTime: earlier }],
        }),
      );
      record(
        "job_older-e1",
        JSON.stringify({
          jobId: "job_older",
          path: join(jobs, "job_older-e1"),
          groups: [{ ...identity, bootId: "another-boot" }],
        }),
      );
      expect(await cleanupLeftovers(work, logger)).toBe(2);
      expect(groupExists(pgid)).toBe(true);
    },
  );
});

describe("refs from outside never reach git as options", () => {
  it("refuses a checkpoint whose wipBase is `--output=<path>`, and git writes nothing", async () => {
    const repo = await scratch.repo("ref-option");
    const work = scratch.dir("ref-option-work");
    const head = await git(repo.path, "rev-parse", "HEAD");
    const target = join(work.path, "written-by-git");
    const job = {
      _id: "job_ref_option",
      repo: repo.path,
      checkpoint: { wipBranch: "gf/job_ref_option", wipBase: `--output=${target}`, wipCommit: head },
    };
    await expect(Workspace.prepare(job, { workDir: work.path, epoch: 1 })).rejects.toThrow(
      /checkpoint\.wipBase is not a commit id/,
    );
    expect(existsSync(target)).toBe(false);
  });

  it("refuses a baseRef that starts with a dash", async () => {
    const repo = await scratch.repo("ref-dash");
    const work = scratch.dir("ref-dash-work");
    const job = { _id: "job_ref_dash", repo: repo.path, baseRef: "--output=/tmp/x" };
    await expect(Workspace.prepare(job, { workDir: work.path, epoch: 1 })).rejects.toThrow(/baseRef is not a usable/);
  });
});

describe("a lazy workspace (no repository, an engine that wants no git)", () => {
  it("runs no git while the directory stays empty: no repository, no checkpoint, zero stats, no diff", async () => {
    const work = scratch.dir("lazy-empty");
    const workspace = await Workspace.prepare(
      { _id: "job_lazy_empty" },
      { workDir: work.path, epoch: 1, lazyGit: true },
    );
    expect(readdirSync(workspace.path)).toEqual([]);
    expect(await workspace.commitWip("WIP", confirmed)).toBeUndefined();
    expect(await workspace.diffStats()).toEqual({ filesChanged: 0, linesAdded: 0, linesDeleted: 0 });
    expect(await workspace.diff()).toBe("");
    expect(readdirSync(join(work.path, "jobs")).filter((name) => name.endsWith(".git"))).toEqual([]);
    await workspace.cleanup();
    expect(readdirSync(join(work.path, "jobs"))).toEqual([]);
  });

  it("makes its repository beside the workspace once there are changes, and ignores a .git the job planted", async () => {
    const work = scratch.dir("lazy-files");
    const workspace = await Workspace.prepare(
      { _id: "job_lazy_files" },
      { workDir: work.path, epoch: 1, lazyGit: true },
    );
    // what a hostile job could leave: a git dir whose config runs a command for the factory's git
    const marker = join(work.path, "fsmonitor-ran");
    mkdirSync(join(workspace.path, ".git"));
    writeFileSync(
      join(workspace.path, ".git", "config"),
      `[core]\n\trepositoryformatversion = 0\n\tfsmonitor = "touch ${marker}; false"\n`,
    );
    writeFileSync(join(workspace.path, "a.txt"), "one\ntwo\n");
    writeFileSync(join(workspace.path, "b.txt"), "three\n");
    const checkpoint = await workspace.commitWip("WIP", confirmed);
    expect(checkpoint?.wipCommit).toMatch(/^[0-9a-f]{40}$/);
    expect(await workspace.diffStats()).toEqual({ filesChanged: 2, linesAdded: 3, linesDeleted: 0 });
    const diff = await workspace.diff();
    expect(diff).toContain("+one");
    expect(diff).toContain("b.txt");
    expect(diff).not.toContain(".git/config");
    expect(existsSync(marker)).toBe(false);
    await workspace.cleanup();
    expect(readdirSync(join(work.path, "jobs"))).toEqual([]);
  });
});

describe("a repository workspace's git work", () => {
  it("takes over a path a crashed run left registered as a worktree, and reads stats and patch of each WIP commit", async () => {
    const { repo, prepare, edit, head } = await twoHolders("changes");
    // a crash of an earlier attempt at the same epoch: the path is gone, its worktree entry stays
    const crashed = await prepare(1);
    rmSync(crashed.path, { recursive: true, force: true });
    expect(await git(repo.path, "worktree", "list")).toContain(crashed.path);

    const workspace = await prepare(1);
    expect(workspace.path).toBe(crashed.path);
    edit(workspace, "one\ntwo");
    writeFileSync(join(workspace.path, "blob.bin"), Buffer.from([0, 1, 2, 255]));
    const first = await workspace.commitWip("WIP 1", confirmed);
    expect(first?.wipCommit).toBe(await head());
    expect(await workspace.diffStats()).toEqual({ filesChanged: 2, linesAdded: 2, linesDeleted: 0 });
    const patch = await workspace.diff();
    // the same bytes `git diff --binary` gives on its own
    const alone = await git(workspace.path, "diff", "--binary", String(first?.wipBase), String(first?.wipCommit));
    expect(patch.trimEnd()).toBe(alone);
    expect(patch).toContain("GIT binary patch");

    // a second WIP commit (a review's) is read again, not served from the first
    edit(workspace, "one");
    const second = await workspace.commitWip("WIP 2", confirmed);
    expect(second?.wipCommit).not.toBe(first?.wipCommit);
    expect(await workspace.diffStats()).toEqual({ filesChanged: 2, linesAdded: 1, linesDeleted: 0 });
    expect(await workspace.diff()).not.toContain("+two");

    // nothing new to commit: no error, HEAD stays
    expect((await workspace.commitWip("WIP 3", confirmed))?.wipCommit).toBe(second?.wipCommit);
    await workspace.cleanup();
    expect(await git(repo.path, "worktree", "list")).not.toContain(workspace.path);
  });
});
