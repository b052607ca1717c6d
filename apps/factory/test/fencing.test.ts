import { writeFileSync } from "node:fs";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { type Cluster, listArtifacts, startCluster } from "./support/cluster.js";
import { startFactory, stopAllFactories } from "./support/factory-process.js";
import { killGroupQuietly, pidExists, waitForPids, waitGroupGone } from "./support/procs.js";
import { Scratch } from "./support/temp.js";
import { allEvents, runsOf, waitForOutcome, waitForRunResult } from "./support/wait.js";

let cluster: Cluster;
const scratch = new Scratch();

beforeAll(async () => {
  cluster = await startCluster({ mongoUrl: inject("mongoUrl"), label: "factory-fencing" });
});
afterEach(async () => {
  await stopAllFactories();
  await scratch.clean();
});
afterAll(async () => {
  await cluster?.close();
});

describe("a factory paused past its lease (SIGSTOP) and resumed (SIGCONT)", () => {
  it("is fenced: it kills its engine, writes nothing more, and the job's outcome is the new holder's alone", async () => {
    const tmp = scratch.dir("fencing");
    const repo = await scratch.repo("fencing");
    const pids = tmp.file("pids");
    const go = tmp.file("go");
    // The job names a repository, so both holders make worktrees of the same job branch at once.
    // First holder: prints a tick every 100 ms forever (output the paused factory has not sent
    // yet when it resumes). Second holder: waits for the test's go-ahead, so the first one
    // resumes while the job is still running elsewhere.
    const bodyMd = [
      `echo $$ >> ${pids}`,
      `if [ "$(wc -l < ${pids})" -eq 1 ]; then echo first > work.txt; while true; do echo tick; sleep 0.1; done; fi`,
      `while [ ! -f ${go} ]; do sleep 0.05; done`,
      "echo second > work.txt",
      "echo 'second holder done'",
    ].join("\n");

    const a = await startFactory(cluster, { factoryId: "fence-a", sandbox: false });
    const { job } = await cluster.service.trpc.jobs.create.mutate({
      title: "fencing",
      engine: "shell",
      bodyMd,
      repo: repo.path,
    });
    const [pgidA] = await waitForPids(pids, 1);
    if (pgidA === undefined) throw new Error("no engine pid");
    scratch.defer(() => killGroupQuietly(pgidA));

    // (if the test fails while A is stopped, stopAllFactories continues it before killing it)
    process.kill(a.pid, "SIGSTOP");
    const lost = await waitForRunResult(cluster.service, job._id, 0);
    expect(lost).toMatchObject({ factoryId: "fence-a", result: "lost" });

    const b = await startFactory(cluster, { factoryId: "fence-b", sandbox: false });
    await waitForPids(pids, 2);
    const runsNow = await runsOf(cluster.service, job._id);
    const epochB = runsNow[1]?.epoch;
    expect(runsNow[1]).toMatchObject({ factoryId: "fence-b" });
    expect(runsNow[1]?.result).toBeUndefined();
    if (epochB === undefined) throw new Error("no second run");

    // the paused factory's engine kept running all along (it is in its own process group)
    expect(pidExists(pgidA)).toBe(true);
    process.kill(a.pid, "SIGCONT");
    await a.waitForLog(
      "fenced notice",
      (entry) => entry.msg === "fenced: stopped the job and discarded its result" && entry.epoch === lost.epoch,
    );
    await waitGroupGone(pgidA);
    // it lives on as a factory; only the job was stopped
    expect(pidExists(a.pid)).toBe(true);

    writeFileSync(go, "");
    const shipped = await waitForOutcome(cluster.service, job._id, "shipped", {
      describe: () => `${a.tail()}\n${b.tail()}`,
    });
    expect(shipped.lease.epoch).toBe(epochB);

    const runs = await runsOf(cluster.service, job._id);
    expect(runs.map((run) => ({ factoryId: run.factoryId, result: run.result }))).toEqual([
      { factoryId: "fence-a", result: "lost" },
      { factoryId: "fence-b", result: "success" },
    ]);
    const events = await allEvents(cluster.service, job._id);
    const takeover = events.find((event) => event.type === "claimed" && event.data.factoryId === "fence-b");
    if (!takeover) throw new Error("no takeover event");
    const after = events.filter((event) => event.seq > takeover.seq);
    expect(after.length).toBeGreaterThan(0);
    expect(after.filter((event) => event.epoch !== epochB)).toEqual([]);
    expect(after.some((event) => event.type === "log" && event.data.line === "tick")).toBe(false);
    expect(after.some((event) => event.type === "log" && event.data.line === "second holder done")).toBe(true);
    expect(events.filter((event) => event.type === "completed")).toHaveLength(1);
    // the first holder never got to upload anything
    const artifacts = await listArtifacts(cluster.service, job._id);
    expect(artifacts.length).toBeGreaterThan(0);
    expect(artifacts.every((artifact) => artifact.runId === runs[1]?._id)).toBe(true);
  });
});

describe("a factory that claims again a job it still runs at an older epoch", () => {
  it("stops the old run and keeps the new one: a drain then releases the new attempt", async () => {
    const tmp = scratch.dir("reclaim");
    const pids = tmp.file("pids");
    // First attempt: the whole group ignores TERM, so once fenced its runner takes the full kill
    // grace to end, well after the same factory has claimed the job again. Second attempt: waits.
    const bodyMd = [
      `echo $$ >> ${pids}`,
      `if [ "$(wc -l < ${pids})" -eq 1 ]; then trap '' TERM; while true; do sleep 0.1; done; fi`,
      "sleep 1000",
    ].join("\n");
    const a = await startFactory(cluster, {
      factoryId: "reclaim-a",
      killGrace: "3s",
      drainGrace: "300ms",
      sandbox: false,
    });
    const { job } = await cluster.service.trpc.jobs.create.mutate({
      title: "reclaim",
      engine: "shell",
      bodyMd,
      maxAttempts: 3,
    });
    const [pgid1] = await waitForPids(pids, 1);
    if (pgid1 === undefined) throw new Error("no engine pid");
    scratch.defer(() => killGroupQuietly(pgid1));

    // paused past its lease: the reaper gives the job back, and the same factory claims it again once resumed
    process.kill(a.pid, "SIGSTOP");
    const lost = await waitForRunResult(cluster.service, job._id, 0);
    expect(lost).toMatchObject({ factoryId: "reclaim-a", result: "lost" });
    process.kill(a.pid, "SIGCONT");
    const [, pgid2] = await waitForPids(pids, 2);
    if (pgid2 === undefined) throw new Error("no second engine pid");
    scratch.defer(() => killGroupQuietly(pgid2));
    await a.waitForLog(
      "old run stopped",
      (entry) => entry.msg === "fenced: stopped the job and discarded its result" && entry.epoch === lost.epoch,
    );
    await waitGroupGone(pgid1);
    const runsNow = await runsOf(cluster.service, job._id);
    expect(runsNow.map((run) => ({ factoryId: run.factoryId, result: run.result }))).toEqual([
      { factoryId: "reclaim-a", result: "lost" },
      { factoryId: "reclaim-a", result: undefined },
    ]);

    // the new attempt is still this factory's running job: the drain gives it back
    expect(await a.stop("SIGTERM")).toEqual({ code: 0, signal: null });
    const second = await waitForRunResult(cluster.service, job._id, 1, { describe: () => a.tail() });
    expect(second).toMatchObject({ factoryId: "reclaim-a", result: "released" });
    await waitGroupGone(pgid2);
  });
});
