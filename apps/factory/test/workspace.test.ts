import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { type Cluster, startCluster } from "./support/cluster.js";
import { type FactoryProcess, startFactory, stopAllFactories } from "./support/factory-process.js";
import { git, Scratch, worktrees } from "./support/temp.js";
import { allEvents, runsOf, waitFor, waitForOutcome } from "./support/wait.js";

let cluster: Cluster;
const scratch = new Scratch();

beforeAll(async () => {
  cluster = await startCluster({ mongoUrl: inject("mongoUrl"), label: "factory-workspace" });
});
afterEach(async () => {
  await stopAllFactories();
  await scratch.clean();
});
afterAll(async () => {
  await cluster?.close();
});

const modeOf = (path: string) => (statSync(path).mode & 0o777).toString(8);

describe("workspaces", () => {
  it("the work dir, job workspaces and their records are private to the factory's user (0700/0600)", async () => {
    const tmp = scratch.dir("private-modes");
    const repo = await scratch.repo("private-modes");
    const workDir = join(tmp.path, "work");
    await startFactory(cluster, { factoryId: "private-modes-1", workDir });
    const command = "echo started; while [ ! -e gate ]; do sleep 0.1; done";
    const created = await Promise.all([
      cluster.service.trpc.jobs.create.mutate({
        title: "in a repo",
        engine: "shell",
        bodyMd: "",
        command,
        repo: repo.path,
      }),
      cluster.service.trpc.jobs.create.mutate({ title: "no repo", engine: "shell", bodyMd: "", command }),
    ]);
    for (const { job } of created) {
      const workspace = join(workDir, "jobs", `${job._id}-e1`);
      const record = `${workspace}.json`;
      // once the engine has printed, the workspace was prepared (made private) before it started
      await waitFor(`${job.title}: its engine running`, async () =>
        JSON.stringify(await allEvents(cluster.service, job._id)).includes("started"),
      );
      expect(existsSync(record) && existsSync(workspace)).toBe(true);
      expect({ workDir: modeOf(workDir), jobs: modeOf(join(workDir, "jobs")) }).toEqual({
        workDir: "700",
        jobs: "700",
      });
      expect({ workspace: modeOf(workspace), record: modeOf(record) }).toEqual({ workspace: "700", record: "600" });
      writeFileSync(join(workspace, "gate"), "");
    }
    for (const { job } of created) await waitForOutcome(cluster.service, job._id, "shipped");
  });

  it("on start, removes the worktrees and directories a crashed run left in its work dir", async () => {
    const tmp = scratch.dir("leftovers");
    const repo = await scratch.repo("leftovers");
    const jobs = join(tmp.path, "work", "jobs");
    mkdirSync(jobs, { recursive: true });
    // what a SIGKILLed factory leaves: a registered worktree with its record, and a bare directory
    const worktree = join(jobs, "job_leftover-e3");
    await git(repo.path, "worktree", "add", "--detach", worktree, "main");
    writeFileSync(join(worktree, "half-done.txt"), "partial work\n");
    writeFileSync(
      join(jobs, "job_leftover-e3.json"),
      JSON.stringify({ jobId: "job_leftover", path: worktree, repo: repo.path }),
    );
    mkdirSync(join(jobs, "job_norecord-e1", "src"), { recursive: true });
    expect(await worktrees(repo.path)).toHaveLength(2);

    const factory: FactoryProcess = await startFactory(cluster, {
      factoryId: "leftovers-1",
      workDir: join(tmp.path, "work"),
    });
    const notice = await factory.waitForLog(
      "leftover notice",
      (entry) => entry.msg === "removed workspaces left by a previous run",
    );
    expect(notice.leftovers).toBe(1);
    expect(readdirSync(jobs)).toEqual([]);
    expect(await worktrees(repo.path)).toHaveLength(1);
  });

  it("a truncated record (a crash mid-write) is logged and removed; the factory still starts and cleans up the rest", async () => {
    const tmp = scratch.dir("corrupt-record");
    const jobs = join(tmp.path, "work", "jobs");
    mkdirSync(join(jobs, "job_truncated-e2"), { recursive: true });
    writeFileSync(join(jobs, "job_truncated-e2.json"), '{"jobId":"job_truncated","pa');
    mkdirSync(join(jobs, "job_fine-e1"), { recursive: true });
    writeFileSync(
      join(jobs, "job_fine-e1.json"),
      JSON.stringify({ jobId: "job_fine", path: join(jobs, "job_fine-e1") }),
    );

    const factory = await startFactory(cluster, { factoryId: "corrupt-record-1", workDir: join(tmp.path, "work") });
    const warning = await factory.waitForLog(
      "corrupt record warning",
      (entry) => typeof entry.file === "string" && entry.file.endsWith("job_truncated-e2.json"),
    );
    expect(warning.level).toBe(40);
    const notice = await factory.waitForLog(
      "leftover notice",
      (entry) => entry.msg === "removed workspaces left by a previous run",
    );
    expect(notice.leftovers).toBe(1);
    expect(readdirSync(jobs)).toEqual([]);
  });

  it("a repo job that failed for good leaves no job branch; a shipped one keeps its branch as its result; no worktree or record stays", async () => {
    // a long lease: a job whose lease lapsed under load would end by the reaper, which no factory hears of
    const longLease = await startCluster({
      mongoUrl: inject("mongoUrl"),
      label: "factory-workspace-finished",
      env: { GF_LEASE_TTL: "30s" },
    });
    scratch.defer(() => longLease.close());
    const repo = await scratch.repo("finished-jobs");
    const factory = await startFactory(longLease, { factoryId: "finished-1", seats: 3 });
    const create = (title: string, extra: { bodyMd: string; baseRef?: string }) =>
      longLease.service.trpc.jobs.create.mutate({ title, engine: "shell", repo: repo.path, maxAttempts: 1, ...extra });
    const { job: shipped } = await create("ships", { bodyMd: "echo change > change.txt" });
    const { job: failed } = await create("fails", { bodyMd: "echo partial > partial.txt; exit 3" });
    // the workspace cannot be made: what was started of it goes too
    const { job: badRef } = await create("bad base", { bodyMd: "echo never", baseRef: "no-such-ref" });
    const branches = () => git(repo.path, "branch", "--list", "gf/*");
    const describe = async () => `job branches: ${await branches()}\n${factory.tail()}`;
    await waitForOutcome(longLease.service, shipped._id, "shipped", { describe });
    await waitForOutcome(longLease.service, failed._id, "failed", { describe });
    await waitForOutcome(longLease.service, badRef._id, "failed", { describe });

    // the shipped job's branch is its deliverable: it stays, holding the job's change
    await waitFor(
      "only the shipped job's branch to be left",
      async () => (await branches()).trim() === `gf/${shipped._id}`,
      { describe },
    );
    expect(await git(repo.path, "show", `gf/${shipped._id}:change.txt`)).toBe("change");
    await waitFor(
      "the workspaces and records to be removed",
      () => readdirSync(join(factory.workDir, "jobs")).length === 0,
      {
        describe,
      },
    );
    expect(await worktrees(repo.path)).toHaveLength(1);
  });

  it("a workspace that cannot be prepared fails the attempt at once, naming the cause (no silent lease lapse)", async () => {
    const tmp = scratch.dir("bad-repo");
    const factory = await startFactory(cluster, { factoryId: "bad-repo-1" });
    const { job } = await cluster.service.trpc.jobs.create.mutate({
      title: "bad repo",
      engine: "shell",
      bodyMd: "echo never",
      repo: join(tmp.path, "missing-repo"),
      maxAttempts: 1,
    });
    const failed = await waitForOutcome(cluster.service, job._id, "failed", { describe: () => factory.tail() });
    expect(failed.lastResult).toBe("failure");
    const runs = await runsOf(cluster.service, job._id);
    expect(runs.map((run) => run.result)).toEqual(["failure"]);
    expect(runs[0]?.reason).toContain("factory error");
    expect(runs[0]?.reason).toContain("missing-repo");
  });
});
