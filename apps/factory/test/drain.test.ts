import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { type Cluster, startCluster } from "./support/cluster.js";
import { startFactory, stopAllFactories } from "./support/factory-process.js";
import { killGroupQuietly, waitForPids, waitGroupGone } from "./support/procs.js";
import { git, gitStatus, Scratch, worktrees } from "./support/temp.js";
import { allEvents, runsOf, waitForOutcome, waitForRunResult } from "./support/wait.js";

let cluster: Cluster;
const scratch = new Scratch();

beforeAll(async () => {
  cluster = await startCluster({ mongoUrl: inject("mongoUrl"), label: "factory-drain" });
});
afterEach(async () => {
  await stopAllFactories();
  await scratch.clean();
});
afterAll(async () => {
  await cluster?.close();
});

describe("SIGTERM drains a factory", () => {
  it("checkpoints and releases a running job; another factory resumes it from the checkpoint and ships it", async () => {
    const tmp = scratch.dir("drain");
    const repo = await scratch.repo("drain");
    const pids = tmp.file("pids");
    // First attempt: writes progress, then sleeps well past the drain grace. Resumed attempt:
    // finds the progress file from the checkpoint and finishes.
    const bodyMd = [
      `echo $$ >> ${pids}`,
      "if [ -f progress.txt ]; then echo \"resumed with: $(cat progress.txt)\"; echo 'step two' >> progress.txt; exit 0; fi",
      "echo 'step one' > progress.txt",
      "echo 'wrote step one'",
      "sleep 1000",
    ].join("\n");

    const workDirA = join(tmp.path, "factory-a");
    const a = await startFactory(cluster, {
      factoryId: "drain-a",
      workDir: workDirA,
      drainGrace: "500ms",
      sandbox: false,
    });
    const { job } = await cluster.service.trpc.jobs.create.mutate({
      title: "drain",
      engine: "shell",
      bodyMd,
      repo: repo.path,
      maxAttempts: 1,
    });
    const [pgidA] = await waitForPids(pids, 1);
    if (pgidA === undefined) throw new Error("no engine pid");
    scratch.defer(() => killGroupQuietly(pgidA));
    const workspaceA = join(workDirA, "jobs", `${job._id}-e1`);
    expect(existsSync(join(workspaceA, "progress.txt"))).toBe(true);

    const exit = await a.stop("SIGTERM");
    expect(exit).toEqual({ code: 0, signal: null });
    await waitGroupGone(pgidA);

    const released = await waitForRunResult(cluster.service, job._id, 0);
    expect(released).toMatchObject({ factoryId: "drain-a", result: "released", attempt: 1 });
    const waiting = await cluster.service.trpc.jobs.get.query({ jobId: job._id });
    // no penalty: the attempt is given back (maxAttempts is 1, yet the job is claimable again)
    expect(waiting).toMatchObject({ stage: "inbox", attempt: 0, lastResult: "released" });
    const checkpoint = waiting.checkpoint;
    if (!checkpoint) throw new Error("released without a checkpoint");
    expect(checkpoint.wipBranch).toBe(`gf/${job._id}`);
    expect(checkpoint.wipBase).toBe(await git(repo.path, "rev-parse", "main"));
    // the WIP commit is in the repository, on the job's branch, and holds the progress file
    expect(await git(repo.path, "rev-parse", checkpoint.wipBranch)).toBe(checkpoint.wipCommit);
    expect(await git(repo.path, "show", `${checkpoint.wipCommit}:progress.txt`)).toBe("step one");
    // A removed its worktree; the branch stays
    expect(existsSync(workspaceA)).toBe(false);
    expect(await worktrees(repo.path)).toHaveLength(1);

    const b = await startFactory(cluster, { factoryId: "drain-b", sandbox: false });
    const shipped = await waitForOutcome(cluster.service, job._id, "shipped", { describe: () => b.tail() });
    expect(shipped.attempt).toBe(1);
    const runs = await runsOf(cluster.service, job._id);
    expect(runs.map((run) => ({ factoryId: run.factoryId, result: run.result, attempt: run.attempt }))).toEqual([
      { factoryId: "drain-a", result: "released", attempt: 1 },
      // the release cost no attempt (the job's `attempt` is 1), but each run has its own number
      { factoryId: "drain-b", result: "success", attempt: 2 },
    ]);
    const events = await allEvents(cluster.service, job._id);
    const secondRun = runs[1];
    expect(
      events.some(
        (event) =>
          event.type === "log" && event.epoch === secondRun?.epoch && event.data.line === "resumed with: step one",
      ),
    ).toBe(true);
    expect(events.map((event) => event.type)).toEqual(expect.arrayContaining(["released", "checkpoint", "completed"]));

    // B's work continues A's on the same branch; no worktree is left
    const head = await git(repo.path, "rev-parse", `gf/${job._id}`);
    expect(await git(repo.path, "show", `${head}:progress.txt`)).toBe("step one\nstep two");
    expect(await gitStatus(repo.path, "merge-base", "--is-ancestor", checkpoint.wipCommit, head)).toBe(0);
    // B removes its worktree after reporting the outcome: stopping B waits for that
    await b.stop();
    expect(await worktrees(repo.path)).toHaveLength(1);
  });

  it("hands the job straight to a factory that is already waiting, which resumes from the released checkpoint", async () => {
    const tmp = scratch.dir("drain-handoff");
    const repo = await scratch.repo("drain-handoff");
    const pids = tmp.file("pids");
    const bodyMd = [
      `echo $$ >> ${pids}`,
      'if [ -f progress.txt ]; then echo "resumed with: $(cat progress.txt)"; exit 0; fi',
      "echo 'step one' > progress.txt",
      "sleep 1000",
    ].join("\n");
    const a = await startFactory(cluster, { factoryId: "handoff-a", drainGrace: "300ms", sandbox: false });
    const { job } = await cluster.service.trpc.jobs.create.mutate({
      title: "handoff",
      engine: "shell",
      bodyMd,
      repo: repo.path,
      maxAttempts: 1,
    });
    const [pgidA] = await waitForPids(pids, 1);
    if (pgidA === undefined) throw new Error("no engine pid");
    scratch.defer(() => killGroupQuietly(pgidA));
    // B is idle and listening when A lets go: it is nudged by the release and claims at once,
    // possibly while A is still removing its worktree of the same branch.
    const b = await startFactory(cluster, { factoryId: "handoff-b", sandbox: false });
    expect(await a.stop("SIGTERM")).toEqual({ code: 0, signal: null });

    await waitForOutcome(cluster.service, job._id, "shipped", { describe: () => `${a.tail()}\n${b.tail()}` });
    const runs = await runsOf(cluster.service, job._id);
    expect(runs.map((run) => ({ factoryId: run.factoryId, result: run.result, attempt: run.attempt }))).toEqual([
      { factoryId: "handoff-a", result: "released", attempt: 1 },
      // the release cost no attempt (the job's `attempt` is 1), but each run has its own number
      { factoryId: "handoff-b", result: "success", attempt: 2 },
    ]);
    const events = await allEvents(cluster.service, job._id);
    const releasedCheckpoint = events.find((event) => event.type === "released")?.data.checkpoint as
      | { wipCommit?: string }
      | undefined;
    expect(releasedCheckpoint?.wipCommit).toMatch(/^[0-9a-f]{40}$/);
    expect(await git(repo.path, "show", `${releasedCheckpoint?.wipCommit}:progress.txt`)).toBe("step one");
    expect(
      events.some(
        (event) =>
          event.type === "log" && event.epoch === runs[1]?.epoch && event.data.line === "resumed with: step one",
      ),
    ).toBe(true);
    // B removes its worktree after reporting the outcome: stopping B waits for that
    await b.stop();
    expect(await worktrees(repo.path)).toHaveLength(1);
  });
});
