import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { type Cluster, startCluster } from "./support/cluster.js";
import { startFactory, stopAllFactories } from "./support/factory-process.js";
import { groupExists, killGroupQuietly, waitForPids } from "./support/procs.js";
import { git, gitStatus, Scratch, worktrees } from "./support/temp.js";
import { allEvents, runsOf, waitFor, waitForOutcome } from "./support/wait.js";

let cluster: Cluster;
const scratch = new Scratch();

beforeAll(async () => {
  cluster = await startCluster({ mongoUrl: inject("mongoUrl"), label: "factory-crash" });
});
afterEach(async () => {
  await stopAllFactories();
  await scratch.clean();
});
afterAll(async () => {
  await cluster?.close();
});

/** The temp dir of the shell engine's job script that process `pid` runs (`bash -euo pipefail <dir>/job.sh`). */
function orphanScriptDir(pid: number): string | undefined {
  try {
    const script = readFileSync(`/proc/${pid}/cmdline`, "utf8")
      .split("\0")
      .find((arg) => arg.endsWith("/job.sh"));
    return script && /\/gf-engine-[^/]+\/job\.sh$/.test(script) ? dirname(script) : undefined;
  } catch {
    return undefined;
  }
}

describe("a factory killed with SIGKILL mid-job", () => {
  it("loses the lease; another factory runs the job and ships it once; a restart removes the dead run's workspace", async () => {
    const tmp = scratch.dir("crash");
    const repo = await scratch.repo("crash");
    const workDirA = join(tmp.path, "factory-a");
    const pids = tmp.file("pids");
    // the first attempt hangs; the one after the takeover finishes
    const bodyMd = [
      `echo $$ >> ${pids}`,
      `if [ "$(wc -l < ${pids})" -eq 1 ]; then echo first > work.txt; sleep 1000; fi`,
      "echo second > work.txt",
      "echo finished",
    ].join("\n");

    const a = await startFactory(cluster, { factoryId: "crash-a", workDir: workDirA, sandbox: false });
    const { job } = await cluster.service.trpc.jobs.create.mutate({
      title: "crash",
      engine: "shell",
      bodyMd,
      repo: repo.path,
      maxAttempts: 3,
    });
    const [enginePgid] = await waitForPids(pids, 1);
    if (enginePgid === undefined) throw new Error("no engine pid");
    scratch.defer(() => killGroupQuietly(enginePgid));
    expect(await worktrees(repo.path)).toHaveLength(2);

    const killed = await a.stop("SIGKILL");
    expect(killed.signal).toBe("SIGKILL");
    // A SIGKILLed daemon cannot kill its engine: the engine's process group (its own group,
    // reparented to init) outlives it until the factory starts again on the same work dir.
    const engineSurvived = groupExists(enginePgid);
    // its job script (in a temp dir the dead factory would have removed) goes when the test ends
    const script = orphanScriptDir(enginePgid);
    if (script) scratch.defer(() => rmSync(script, { recursive: true, force: true }));
    console.info(
      `[crash] engine process group ${enginePgid} of the SIGKILLed factory ${engineSurvived ? "SURVIVED" : "is gone"}`,
    );

    const b = await startFactory(cluster, { factoryId: "crash-b", sandbox: false });
    const shipped = await waitForOutcome(cluster.service, job._id, "shipped", { describe: () => b.tail() });
    expect(shipped.stage).toBe("shipped");
    expect(shipped.attempt).toBe(2);

    const runs = await runsOf(cluster.service, job._id);
    expect(runs.map((run) => ({ factoryId: run.factoryId, result: run.result }))).toEqual([
      { factoryId: "crash-a", result: "lost" },
      { factoryId: "crash-b", result: "success" },
    ]);
    const events = await allEvents(cluster.service, job._id);
    expect(events.filter((event) => event.type === "completed")).toHaveLength(1);
    expect(events.filter((event) => event.type === "lost").map((event) => event.data.factoryId)).toEqual(["crash-a"]);
    expect(events.some((event) => event.type === "log" && event.data.line === "finished")).toBe(true);
    expect(await waitForPids(pids, 2)).toHaveLength(2);

    // The dead run left its worktree behind (in A's work dir and registered in the repo).
    const leftover = join(workDirA, "jobs", `${job._id}-e1`);
    expect(existsSync(leftover)).toBe(true);
    expect(await worktrees(repo.path)).toContain(leftover);

    // Restarting A on the same work dir removes it.
    const restarted = await startFactory(cluster, { factoryId: "crash-a", workDir: workDirA, sandbox: false });
    const notice = await restarted.waitForLog(
      "leftover notice",
      (entry) => entry.msg === "removed workspaces left by a previous run",
    );
    expect(notice.leftovers).toBe(1);
    expect(existsSync(leftover)).toBe(false);
    expect(readdirSync(join(workDirA, "jobs"))).toEqual([]);
    await waitFor("the leftover worktree to be pruned", async () => (await worktrees(repo.path)).length === 1);
    expect(await worktrees(repo.path)).toEqual([await git(repo.path, "rev-parse", "--show-toplevel")]);
    // the job shipped on B, which deleted its branch with its workspace
    await waitFor(
      "the job branch deleted",
      async () => (await gitStatus(repo.path, "rev-parse", "--verify", `refs/heads/gf/${job._id}`)) !== 0,
    );
    // the restart also kills the engine group the crash orphaned (recorded in the workspace record)
    await waitFor("the orphaned engine group to be gone", async () => !groupExists(enginePgid));
    await restarted.stop();
  });
});
