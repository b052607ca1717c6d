import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type Cluster, listArtifacts, startCluster } from "./support/cluster.js";
import { type FactoryProcess, startFactory } from "./support/factory-process.js";
import { allEvents, runsOf, waitForOutcome } from "./support/wait.js";

let cluster: Cluster;
let factory: FactoryProcess;

beforeAll(async () => {
  // every artifact is too large for this coordinator: it answers 413
  cluster = await startCluster({
    mongoUrl: inject("mongoUrl"),
    label: "factory-artifacts",
    env: { GF_ARTIFACT_MAX_BYTES: "16" },
  });
  factory = await startFactory(cluster, { factoryId: "artifacts-1" });
});
afterAll(async () => {
  await factory?.stop();
  await cluster?.close();
});

describe("artifacts the coordinator refuses", () => {
  it("do not fail a successful attempt: the job ships, and its events say which artifacts were not stored", async () => {
    const { job } = await cluster.service.trpc.jobs.create.mutate({
      title: "refused artifacts",
      engine: "shell",
      bodyMd: ["echo 'a line long enough to pass the artifact limit'", "echo 'some change' > change.txt"].join("\n"),
      maxAttempts: 1,
    });
    const shipped = await waitForOutcome(cluster.service, job._id, "shipped", { describe: () => factory.tail() });
    expect(shipped.attempt).toBe(1);
    const runs = await runsOf(cluster.service, job._id);
    expect(runs.map((run) => run.result)).toEqual(["success"]);
    expect(runs[0]?.insights).toMatchObject({ filesChanged: 1 });

    const notes = (await allEvents(cluster.service, job._id))
      .filter((event) => event.type === "log" && event.data.source === "factory")
      .map((event) => String(event.data.line))
      // the two uploads run in parallel: their notes come in either order
      .sort();
    expect(notes).toEqual([
      expect.stringMatching(/artifact changes\.diff was not stored: .*413/),
      expect.stringMatching(/artifact engine\.log was not stored: .*413/),
    ]);
    expect(await listArtifacts(cluster.service, job._id)).toEqual([]);
  });
});
