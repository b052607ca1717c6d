import { afterEach, describe, expect, inject, it } from "vitest";
import { type Cluster, startCluster } from "./support/cluster.js";
import { startFactory, stopAllFactories } from "./support/factory-process.js";
import { runsOf, waitForOutcome } from "./support/wait.js";

const clusters: Cluster[] = [];
afterEach(async () => {
  await stopAllFactories();
  await Promise.all(clusters.splice(0).map((cluster) => cluster.close()));
});

/**
 * A reviewer that fails, cannot start or hangs ends the attempt through the normal completion
 * (the coordinator frees the lock when the job leaves its active stage), so the next job that
 * needs the same lock runs.
 */
describe("a review pass that crashes", () => {
  for (const mode of ["error", "missing", "hang"]) {
    it(`(${mode}) ends the attempt and frees the job's lock for the next job`, async () => {
      const cluster = await startCluster({ mongoUrl: inject("mongoUrl"), label: `factory-review-lock-${mode}` });
      clusters.push(cluster);
      const factory = await startFactory(cluster, {
        factoryId: `review-${mode}`,
        engines: "shell,claude-code",
        sandbox: false,
        // missing: the reviewer's program is not on PATH, so starting it fails
        env: mode === "missing" ? { PATH: "/usr/bin:/bin" } : { FAKE_MODE: mode },
      });
      const { job } = await cluster.service.trpc.jobs.create.mutate({
        title: "reviewed",
        engine: "shell",
        bodyMd: "echo change > file.txt",
        lock: "the-lock",
        maxAttempts: 1,
        // a hung reviewer runs into the job's time-out
        timeoutMs: 4_000,
        review: { mode: "engine", engine: "claude-code" },
      });
      const failed = await waitForOutcome(cluster.service, job._id, "failed", { describe: () => factory.tail() });
      expect(failed.reason).toMatch(/review/);
      const { job: next } = await cluster.service.trpc.jobs.create.mutate({
        title: "same lock",
        engine: "shell",
        bodyMd: "echo next",
        lock: "the-lock",
      });
      await waitForOutcome(cluster.service, next._id, "shipped", { describe: () => factory.tail() });
      expect((await runsOf(cluster.service, job._id)).map((run) => run.result)).toEqual(["failure"]);
    });
  }
});
