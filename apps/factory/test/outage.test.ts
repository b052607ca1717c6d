import { readFileSync, writeFileSync } from "node:fs";
import { afterEach, describe, expect, inject, it } from "vitest";
import { type Cluster, startCluster } from "./support/cluster.js";
import { startFactory, stopAllFactories } from "./support/factory-process.js";
import { killGroupQuietly, pidExists, waitForPids, waitGroupGone } from "./support/procs.js";
import { Scratch } from "./support/temp.js";
import { allEvents, runsOf, sleep, waitFor, waitForOutcome } from "./support/wait.js";

const scratch = new Scratch();
const clusters: Cluster[] = [];

afterEach(async () => {
  await stopAllFactories();
  await Promise.all(clusters.splice(0).map((cluster) => cluster.close()));
  await scratch.clean();
});

/** A cluster whose coordinator can be stopped and started again on the same port and database. */
async function restartableCluster(label: string, env: Record<string, string> = {}): Promise<Cluster> {
  const cluster = await startCluster({
    mongoUrl: inject("mongoUrl"),
    label,
    env,
    dataDir: scratch.dir(`${label}-data`).path,
  });
  clusters.push(cluster);
  return cluster;
}

describe("a coordinator outage shorter than the lease", () => {
  it("loses nothing: the job ships with every line its engine printed, seqs contiguous from 1", async () => {
    // a 30 s lease; the outage (8 s) outlasts the old fixed retry budget of the event batcher (~6 s)
    const cluster = await restartableCluster("factory-outage-short", { GF_LEASE_TTL: "30s" });
    // the engine and the test talk through files outside its workspace: no sandbox here (the
    // sandbox has its own tests); the outage is what is under test
    const tmp = scratch.dir("outage-short");
    const count = tmp.file("count");
    const go = tmp.file("go");
    const bodyMd = [
      "i=0",
      `while [ ! -f ${go} ]; do i=$((i+1)); echo "tick $i"; echo $i > ${count}; sleep 0.1; done`,
      'echo "done after $i"',
    ].join("\n");
    const factory = await startFactory(cluster, { factoryId: "outage-short", sandbox: false });
    const { job } = await cluster.service.trpc.jobs.create.mutate({
      title: "outage",
      engine: "shell",
      bodyMd,
      maxAttempts: 1,
    });
    await waitFor("the first lines stored", async () =>
      (await allEvents(cluster.service, job._id)).some((event) => event.type === "log" && event.data.line === "tick 3"),
    );

    await cluster.stopCoordinator("SIGKILL");
    await sleep(8_000);
    await cluster.restartCoordinator();
    writeFileSync(go, "");

    const shipped = await waitForOutcome(cluster.service, job._id, "shipped", { describe: () => factory.tail() });
    expect(shipped.attempt).toBe(1);
    const printed = Number(readFileSync(count, "utf8").trim());
    const events = await allEvents(cluster.service, job._id);
    expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index + 1));
    const lines = events.filter((event) => event.type === "log").map((event) => String(event.data.line));
    const ticks = lines.filter((line) => line.startsWith("tick ")).map((line) => Number(line.slice(5)));
    // every line the engine printed, in order (a write retried after a lost answer may repeat a batch)
    expect([...new Set(ticks)]).toEqual(Array.from({ length: printed }, (_, index) => index + 1));
    expect(lines).toContain(`done after ${printed}`);
    expect(events.some((event) => event.type === "dropped")).toBe(false);
    const runs = await runsOf(cluster.service, job._id);
    expect(runs.map((run) => run.result)).toEqual(["success"]);
  });
});

describe("a coordinator outage longer than the lease", () => {
  it("the factory stops its engine itself before the lease's deadline, and the job runs again once the coordinator is back", async () => {
    const cluster = await restartableCluster("factory-outage-long", { GF_LEASE_TTL: "6s" });
    // the engine records host pids outside its workspace: no sandbox here (see the sandbox tests)
    const tmp = scratch.dir("outage-long");
    const pids = tmp.file("pids");
    const bodyMd = [
      `echo $$ >> ${pids}`,
      `if [ "$(wc -l < ${pids})" -eq 1 ]; then while true; do echo tick; sleep 0.1; done; fi`,
      "echo 'second attempt done'",
    ].join("\n");
    const factory = await startFactory(cluster, { factoryId: "outage-long", sandbox: false });
    const { job } = await cluster.service.trpc.jobs.create.mutate({
      title: "outage past the lease",
      engine: "shell",
      bodyMd,
      maxAttempts: 3,
    });
    const [pgid] = await waitForPids(pids, 1);
    if (pgid === undefined) throw new Error("no engine pid");
    scratch.defer(() => killGroupQuietly(pgid));

    await cluster.stopCoordinator("SIGKILL");
    const fenced = await factory.waitForLog(
      "self-fence",
      (entry) => typeof entry.msg === "string" && entry.msg.startsWith("self-fenced: the lease could not be renewed"),
    );
    // it acted before the deadline it computed (same clock), and its engine is gone, with the coordinator still down
    expect(fenced.time).toBeLessThan(Date.parse(String(fenced.deadline)));
    await waitGroupGone(pgid);
    expect(pidExists(factory.pid)).toBe(true);

    await cluster.restartCoordinator();
    await waitForOutcome(cluster.service, job._id, "shipped", { describe: () => factory.tail() });
    const runs = await runsOf(cluster.service, job._id);
    expect(runs.map((run) => ({ factoryId: run.factoryId, result: run.result }))).toEqual([
      { factoryId: "outage-long", result: "lost" },
      { factoryId: "outage-long", result: "success" },
    ]);
    const events = await allEvents(cluster.service, job._id);
    expect(events.filter((event) => event.type === "completed")).toHaveLength(1);
    expect(events.some((event) => event.type === "log" && event.data.line === "second attempt done")).toBe(true);
  });
});

describe("claims tried while the coordinator is down", () => {
  it("a claim that never reached the coordinator does not date the next one's lease", async () => {
    const cluster = await restartableCluster("factory-outage-claim", { GF_LEASE_TTL: "4s" });
    const factory = await startFactory(cluster, { factoryId: "outage-claim", seats: 1 });
    await cluster.stopCoordinator("SIGKILL");
    // its claims are refused while the coordinator is down, for longer than a lease lasts
    await factory.waitForLog("a refused claim", (entry) => entry.msg === "claim failed");
    await sleep(5_000);
    await cluster.restartCoordinator();
    const { job } = await cluster.service.trpc.jobs.create.mutate({
      title: "after the outage",
      engine: "shell",
      bodyMd: "echo shipped",
      maxAttempts: 3,
    });
    await waitForOutcome(cluster.service, job._id, "shipped", { describe: () => factory.tail() });
    // one run: the first claim after the outage ran it (its lease was not taken for lapsed)
    const runs = await runsOf(cluster.service, job._id);
    expect(runs.map((run) => run.result)).toEqual(["success"]);
    expect(factory.output.some((line) => line.includes("the lease lapsed before it was renewed"))).toBe(false);
  });
});

describe("a factory started while its coordinator is unreachable", () => {
  it("waits, trying again with backoff, and registers once the coordinator starts", async () => {
    const cluster = await restartableCluster("factory-outage-start");
    await cluster.stopCoordinator("SIGKILL");
    const factory = await startFactory(cluster, { factoryId: "outage-start", waitReady: false });
    await factory.waitForLog(
      "a second try",
      (entry) => entry.msg === "coordinator unreachable; waiting to register" && entry.attempt === 2,
    );
    expect(pidExists(factory.pid)).toBe(true);

    await cluster.restartCoordinator();
    await factory.waitForLog("ready", (entry) => entry.msg === "GF_FACTORY_READY");
    const { job } = await cluster.service.trpc.jobs.create.mutate({
      title: "after start",
      engine: "shell",
      bodyMd: "echo hi",
    });
    await waitForOutcome(cluster.service, job._id, "shipped", { describe: () => factory.tail() });
  });

  it("exits cleanly on SIGTERM while it waits", async () => {
    const cluster = await restartableCluster("factory-outage-term");
    await cluster.stopCoordinator("SIGKILL");
    const factory = await startFactory(cluster, { factoryId: "outage-term", waitReady: false });
    await factory.waitForLog("a try", (entry) => entry.msg === "coordinator unreachable; waiting to register");
    const exit = await factory.stop("SIGTERM");
    expect(exit).toEqual({ code: 0, signal: null });
    expect(factory.output.some((line) => line.includes("factory failed to start"))).toBe(false);
  });
});
