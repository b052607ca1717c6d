import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type Cluster, startCluster } from "./support/cluster.js";
import { type FactoryProcess, startFactory } from "./support/factory-process.js";
import { allEvents, runsOf, waitForOutcome, waitForRunResult } from "./support/wait.js";

/** Long enough to see a job wait in the inbox between attempts. */
const BACKOFF_MS = 2_000;

let cluster: Cluster;
let factory: FactoryProcess;

beforeAll(async () => {
  cluster = await startCluster({
    mongoUrl: inject("mongoUrl"),
    label: "factory-verify",
    env: { GF_BACKOFF_BASE: `${BACKOFF_MS}ms` },
  });
  factory = await startFactory(cluster, { factoryId: "verify-1" });
});
afterAll(async () => {
  await factory?.stop();
  await cluster?.close();
});

describe("verify gates", () => {
  it("a failing gate sends the job back to the inbox with backoff, then to failed after maxAttempts", async () => {
    const { job } = await cluster.service.trpc.jobs.create.mutate({
      title: "verify fails",
      engine: "shell",
      bodyMd: "echo 'no ok.txt written'",
      verify: ["echo checking; test -f ok.txt"],
      maxAttempts: 2,
    });

    const first = await waitForRunResult(cluster.service, job._id, 0, { describe: () => factory.tail() });
    expect(first.result).toBe("failure");
    expect(first.verifyResult).toMatchObject({
      passed: false,
      steps: [{ command: "echo checking; test -f ok.txt", exitCode: 1 }],
    });
    const waiting = await cluster.service.trpc.jobs.get.query({ jobId: job._id });
    expect(waiting).toMatchObject({ stage: "inbox", attempt: 1, lastResult: "failure" });
    expect(waiting.lease.holder).toBeNull();
    // not before the backoff has passed: base × 2^(attempt-1) after the attempt ended
    if (!first.endedAt) throw new Error("run has no endedAt");
    expect(waiting.notBefore.getTime() - first.endedAt.getTime()).toBe(BACKOFF_MS);

    const failed = await waitForOutcome(cluster.service, job._id, "failed", { describe: () => factory.tail() });
    expect(failed.attempt).toBe(2);
    expect(failed.reason).toContain("verify gate failed");
    const runs = await runsOf(cluster.service, job._id);
    expect(runs.map((run) => [run.attempt, run.result, run.verifyResult?.passed])).toEqual([
      [1, "failure", false],
      [2, "failure", false],
    ]);
    const second = runs[1];
    if (!second) throw new Error("no second run");
    // the second attempt was claimed only after notBefore
    expect(second.startedAt.getTime()).toBeGreaterThanOrEqual(waiting.notBefore.getTime());

    const events = await allEvents(cluster.service, job._id);
    expect(events.filter((event) => event.type === "requeued").map((event) => event.data.retryInMs)).toEqual([
      BACKOFF_MS,
    ]);
    expect(events.filter((event) => event.type === "stage").map((event) => event.data.stage)).toEqual([
      "testing",
      "testing",
    ]);
    expect(events.some((event) => event.type === "verify" && event.data.line === "checking")).toBe(true);
  });

  it("passing gates ship the job with verifyResult.passed", async () => {
    const { job } = await cluster.service.trpc.jobs.create.mutate({
      title: "verify passes",
      engine: "shell",
      bodyMd: "echo hello > ok.txt",
      verify: ["test -f ok.txt", "grep hello ok.txt"],
    });
    const shipped = await waitForOutcome(cluster.service, job._id, "shipped", { describe: () => factory.tail() });
    expect(shipped.attempt).toBe(1);
    const [run] = await runsOf(cluster.service, job._id);
    expect(run?.result).toBe("success");
    expect(run?.verifyResult).toMatchObject({
      passed: true,
      steps: [
        { command: "test -f ok.txt", exitCode: 0 },
        { command: "grep hello ok.txt", exitCode: 0, tail: "hello" },
      ],
    });
    const events = await allEvents(cluster.service, job._id);
    expect(events.filter((event) => event.type === "verify").map((event) => event.data)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ gate: 1, line: "hello" }),
        expect.objectContaining({ passed: true }),
      ]),
    );
  });
});
