import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { type Cluster, startCluster } from "./support/cluster.js";
import { type FactoryProcess, startFactory, stopAllFactories } from "./support/factory-process.js";
import { groupExists, killGroupQuietly, pidExists, waitForPids, waitGroupGone, waitPidGone } from "./support/procs.js";
import { Scratch } from "./support/temp.js";
import { allEvents, runsOf, waitForOutcome } from "./support/wait.js";

let cluster: Cluster;
let factory: FactoryProcess;
const scratch = new Scratch();

beforeAll(async () => {
  cluster = await startCluster({ mongoUrl: inject("mongoUrl"), label: "factory-stop" });
  factory = await startFactory(cluster, { factoryId: "stop-1", killGrace: "300ms", sandbox: false });
});
afterEach(async () => {
  await scratch.clean();
});
afterAll(async () => {
  await stopAllFactories();
  await cluster?.close();
});

/**
 * A job body whose engine (bash, leader of its process group) starts a grandchild bash that
 * ignores SIGTERM, which starts a `sleep` that ignores it too; every pid goes to `pids`
 * (leader first). Only SIGKILL to the whole group ends them.
 */
function stubbornBody(pids: string): string {
  return [
    `echo $$ >> ${pids}`,
    `bash -c 'trap "" TERM; echo $$ >> ${pids}; sleep 1000 & echo $! >> ${pids}; wait' &`,
    "echo started",
    "wait",
  ].join("\n");
}

/** Every recorded pid and the engine's group are gone (ESRCH). */
async function expectNoOrphans(pids: number[]): Promise<void> {
  const [leader] = pids;
  if (leader === undefined) throw new Error("no pids");
  await waitGroupGone(leader);
  expect(() => process.kill(-leader, 0)).toThrow(expect.objectContaining({ code: "ESRCH" }));
  for (const pid of pids) {
    await waitPidGone(pid);
    expect(pidExists(pid)).toBe(false);
  }
}

describe("stopping a running job leaves no process behind", () => {
  it("cancel: the job ends cancelled and its whole process group, TERM-ignoring grandchildren included, is gone", async () => {
    const tmp = scratch.dir("cancel");
    const pids = tmp.file("pids");
    const { job } = await cluster.service.trpc.jobs.create.mutate({
      title: "cancel me",
      engine: "shell",
      bodyMd: stubbornBody(pids),
    });
    const recorded = await waitForPids(pids, 3);
    const [leader] = recorded;
    if (leader !== undefined) scratch.defer(() => killGroupQuietly(leader));
    expect(groupExists(recorded[0] ?? 0)).toBe(true);

    await cluster.service.trpc.jobs.cancel.mutate({ jobId: job._id, reason: "test cancel" });
    const cancelled = await waitForOutcome(cluster.service, job._id, "cancelled", { describe: () => factory.tail() });
    expect(cancelled.cancelRequested).toBe(true);
    const runs = await runsOf(cluster.service, job._id);
    expect(runs.map((run) => run.result)).toEqual(["cancelled"]);
    await expectNoOrphans(recorded);
    const types = (await allEvents(cluster.service, job._id)).map((event) => event.type);
    expect(types).toEqual(expect.arrayContaining(["cancel_requested", "cancelled"]));
  });

  it("timeout: the run ends `timeout`, the job fails (no attempts left), and nothing of its process group survives", async () => {
    const tmp = scratch.dir("timeout");
    const pids = tmp.file("pids");
    const { job } = await cluster.service.trpc.jobs.create.mutate({
      title: "time me out",
      engine: "shell",
      bodyMd: stubbornBody(pids),
      timeoutMs: 1_000,
      maxAttempts: 1,
    });
    const recorded = await waitForPids(pids, 3);
    const [leader] = recorded;
    if (leader !== undefined) scratch.defer(() => killGroupQuietly(leader));

    const failed = await waitForOutcome(cluster.service, job._id, "failed", { describe: () => factory.tail() });
    expect(failed.lastResult).toBe("timeout");
    const runs = await runsOf(cluster.service, job._id);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ result: "timeout" });
    expect(runs[0]?.reason).toContain("timed out");
    await expectNoOrphans(recorded);
  });
});
