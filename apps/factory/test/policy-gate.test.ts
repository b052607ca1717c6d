import { createGigafactoryClient } from "@gigafactory/sdk";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type Cluster, startCluster } from "./support/cluster.js";
import { type FactoryProcess, startFactory } from "./support/factory-process.js";
import { tempRepo, type TempDir } from "./support/temp.js";
import { runsOf, waitForOutcome } from "./support/wait.js";

let cluster: Cluster;
let factory: FactoryProcess;
let repo: TempDir;

beforeAll(async () => {
  cluster = await startCluster({ mongoUrl: inject("mongoUrl"), label: "factory-policy-gate" });
  factory = await startFactory(cluster, { factoryId: "policy-gate-1" });
  repo = await tempRepo("policy-gate");
});
afterAll(async () => {
  await factory?.stop();
  await cluster?.close();
  repo?.remove();
});

describe("quality rails", () => {
  it("a mandatory gate of the product's policy is added to a matching job and runs on the factory", async () => {
    const admin = createGigafactoryClient({ url: cluster.url, token: cluster.coordinator.adminToken });
    try {
      await admin.trpc.admin.setPolicy.mutate({
        policy: { gates: [{ name: "proof", repos: [repo.path], verify: ["test -f gate-proof.txt"] }] },
      });
    } finally {
      await admin.close();
    }
    // the job's own work never writes the file the mandatory gate checks: only the gate can fail it
    const { job } = await cluster.service.trpc.jobs.create.mutate({
      title: "gated",
      engine: "shell",
      bodyMd: "echo working",
      repo: repo.path,
      maxAttempts: 1,
    });
    expect(job.rails?.gates).toEqual(["proof"]);
    const failed = await waitForOutcome(cluster.service, job._id, "failed", { describe: () => factory.tail() });
    expect(failed.reason).toContain("verify gate failed");
    const [run] = await runsOf(cluster.service, job._id);
    expect(run?.verifyResult?.steps.map((step) => [step.command, step.exitCode])).toEqual([
      ["test -f gate-proof.txt", 1],
    ]);
  });
});
