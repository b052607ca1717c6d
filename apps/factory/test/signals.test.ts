import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { type Cluster, startCluster } from "./support/cluster.js";
import { startFactory, stopAllFactories } from "./support/factory-process.js";
import { groupExists, killGroupQuietly, waitForPids, waitGroupGone } from "./support/procs.js";
import { Scratch } from "./support/temp.js";

let cluster: Cluster;
const scratch = new Scratch();

beforeAll(async () => {
  cluster = await startCluster({ mongoUrl: inject("mongoUrl"), label: "factory-signals" });
});
afterEach(async () => {
  await stopAllFactories();
  await scratch.clean();
});
afterAll(async () => {
  await cluster?.close();
});

describe("a second SIGTERM", () => {
  it("exits the factory at once and SIGKILLs the engine's process group, which ignores SIGTERM, on the way out", async () => {
    const tmp = scratch.dir("second-signal");
    const pids = tmp.file("pids");
    // the whole group ignores TERM (the disposition is inherited): only SIGKILL ends it
    const bodyMd = ["trap '' TERM", `echo $$ >> ${pids}`, "sleep 1000 &", `echo $! >> ${pids}`, "wait"].join("\n");
    // A drain and a TERM grace far longer than the test: only the second signal's SIGKILL can stop the engine in time.
    const factory = await startFactory(cluster, {
      factoryId: "signals-1",
      drainGrace: "10m",
      killGrace: "10m",
      sandbox: false,
    });
    await cluster.service.trpc.jobs.create.mutate({ title: "stubborn", engine: "shell", bodyMd });
    const [pgid] = await waitForPids(pids, 2);
    if (pgid === undefined) throw new Error("no engine pid");
    scratch.defer(() => killGroupQuietly(pgid));

    factory.child.kill("SIGTERM");
    await factory.waitForLog("draining", (entry) => entry.msg === "draining");
    expect(groupExists(pgid)).toBe(true);
    factory.child.kill("SIGTERM");
    const exit = await factory.exited;
    expect(exit).toEqual({ code: 1, signal: null });
    await waitGroupGone(pgid);
  });
});
