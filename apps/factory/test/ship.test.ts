import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { JobEvent } from "@gigafactory/schema";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { type Cluster, listArtifacts, startCluster } from "./support/cluster.js";
import { type FactoryProcess, startFactory } from "./support/factory-process.js";
import { Scratch } from "./support/temp.js";
import { allEvents, runsOf, waitFor, waitForOutcome } from "./support/wait.js";

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");
const dataOf = (event: JobEvent) => event.data as Record<string, unknown>;

let cluster: Cluster;
let factory: FactoryProcess;
const scratch = new Scratch();

beforeAll(async () => {
  cluster = await startCluster({ mongoUrl: inject("mongoUrl"), label: "factory-ship" });
  factory = await startFactory(cluster, { factoryId: "ship-1", engines: "shell,claude-code" });
});

afterEach(async () => {
  await scratch.clean();
});
afterAll(async () => {
  await factory?.stop();
  await cluster?.close();
});

/** Downloads every artifact of the job and checks its bytes against the recorded size and sha256. */
async function downloadArtifacts(jobId: string, runId: string): Promise<Map<string, string>> {
  const artifacts = await listArtifacts(cluster.service, jobId);
  // each upload is also announced in the job's event log
  const announced = (await allEvents(cluster.service, jobId)).filter((event) => event.type === "artifact").map(dataOf);
  expect(announced.map((data) => data.artifactId).sort()).toEqual(artifacts.map((artifact) => artifact._id).sort());
  const texts = new Map<string, string>();
  for (const artifact of artifacts) {
    expect(artifact.runId).toBe(runId);
    const { status, body, sha256Header } = await cluster.download(artifact._id);
    expect(status).toBe(200);
    expect(body.length).toBe(artifact.size);
    expect(sha256(body)).toBe(artifact.sha256);
    expect(sha256Header).toBe(artifact.sha256);
    texts.set(artifact.name, body.toString("utf8"));
  }
  return texts;
}

describe("a factory process ships jobs end to end", () => {
  it("runs a shell job: streamed log events, git insights, engine.log and changes.diff artifacts", async () => {
    const { job } = await cluster.service.trpc.jobs.create.mutate({
      title: "shell ship",
      engine: "shell",
      bodyMd: [
        "echo 'hello from the shell job'",
        "printf 'alpha\\nbeta\\n' > notes.txt",
        "echo one > one.txt",
        "echo 'to stderr' >&2",
        // the engine must not see the daemon's settings, its token least of all
        "echo \"GF_ variables: $(env | grep -c '^GF_' || true)\"",
      ].join("\n"),
    });
    const shipped = await waitForOutcome(cluster.service, job._id, "shipped", { describe: () => factory.tail() });
    expect(shipped.stage).toBe("shipped");
    expect(shipped.lastResult).toBe("success");

    const runs = await runsOf(cluster.service, job._id);
    expect(runs).toHaveLength(1);
    const [run] = runs;
    if (!run) throw new Error("no run");
    expect(run).toMatchObject({ result: "success", factoryId: "ship-1", exit: { code: 0, signal: null } });
    // git numbers from the job's workspace: two new files, three lines
    expect(run.insights).toMatchObject({ filesChanged: 2, linesAdded: 3, linesDeleted: 0 });
    expect(run.insights.durationMs).toEqual(expect.any(Number));

    const events = await allEvents(cluster.service, job._id);
    const logs = events.filter((event) => event.type === "log").map(dataOf);
    expect(logs).toEqual(
      expect.arrayContaining([
        { stream: "stdout", line: "hello from the shell job" },
        { stream: "stderr", line: "to stderr" },
        { stream: "stdout", line: "GF_ variables: 0" },
      ]),
    );
    // factory events are written under the run's lease
    expect(events.filter((event) => event.type === "log").every((event) => event.epoch === run.epoch)).toBe(true);
    expect(events.map((event) => event.type)).toEqual(expect.arrayContaining(["created", "claimed", "completed"]));

    const texts = await downloadArtifacts(job._id, run._id);
    expect([...texts.keys()].sort()).toEqual(["changes.diff", "engine.log"]);
    expect(texts.get("engine.log")).toContain("hello from the shell job");
    expect(texts.get("engine.log")).toContain("to stderr");
    expect(texts.get("changes.diff")).toContain("+alpha");
    expect(texts.get("changes.diff")).toContain("notes.txt");
    expect(texts.get("changes.diff")).toContain("one.txt");
  });

  it("streams output while the engine is still running", async () => {
    // the go-ahead is a file in the job's workspace: the sandboxed engine sees nothing else of the host
    const { job } = await cluster.service.trpc.jobs.create.mutate({
      title: "streaming",
      engine: "shell",
      bodyMd: ["echo 'first line'", "while [ ! -f go ]; do sleep 0.05; done", "echo 'last line'"].join("\n"),
    });
    await waitFor(
      "the first line as an event",
      async () =>
        (await allEvents(cluster.service, job._id)).some(
          (event) => event.type === "log" && event.data.line === "first line",
        ),
      {
        describe: () => factory.tail(),
      },
    );
    // seen before the engine was allowed to finish
    expect((await cluster.service.trpc.jobs.get.query({ jobId: job._id })).stage).toBe("building");
    expect((await allEvents(cluster.service, job._id)).some((event) => event.data.line === "last line")).toBe(false);
    const { lease } = await cluster.service.trpc.jobs.get.query({ jobId: job._id });
    writeFileSync(join(factory.workDir, "jobs", `${job._id}-e${lease.epoch}`, "go"), "");
    await waitForOutcome(cluster.service, job._id, "shipped", { describe: () => factory.tail() });
    expect(
      (await allEvents(cluster.service, job._id)).some(
        (event) => event.type === "log" && event.data.line === "last line",
      ),
    ).toBe(true);
  });

  it("runs a claude-code job against the fake claude: messages, tool uses, token and cost insights", async () => {
    const { job } = await cluster.service.trpc.jobs.create.mutate({
      title: "claude ship",
      engine: "claude-code",
      bodyMd: "Fix the failing test in src/sum.ts",
    });
    const shipped = await waitForOutcome(cluster.service, job._id, "shipped", { describe: () => factory.tail() });
    expect(shipped.stage).toBe("shipped");

    const [run, ...others] = await runsOf(cluster.service, job._id);
    expect(others).toHaveLength(0);
    if (!run) throw new Error("no run");
    expect(run.result).toBe("success");
    // the numbers the fake replays from the real claude's recording (test/fixtures/engines/bin/recordings)
    expect(run.insights).toMatchObject({
      model: "claude-opus-5-5",
      tokensIn: 143,
      tokensCached: 57,
      tokensOut: 29,
      costUsd: 0.0011734000000000002,
      turns: 3,
      toolCalls: 2,
      filesChanged: 0,
    });

    const events = await allEvents(cluster.service, job._id);
    expect(events.filter((event) => event.type === "message").map(dataOf)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ role: "assistant", text: "I will write the file." }),
        expect.objectContaining({ role: "assistant", text: "All done." }),
      ]),
    );
    const tools = events.filter((event) => event.type === "tool_use").map(dataOf);
    expect(tools).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          phase: "call",
          name: "Bash",
          input: { command: "echo ran > ran.txt", description: "run" },
        }),
        expect.objectContaining({ phase: "call", name: "Write" }),
        expect.objectContaining({ phase: "result", isError: false }),
      ]),
    );
    expect(events.filter((event) => event.type === "log").map(dataOf)).toEqual(
      expect.arrayContaining([{ stream: "stderr", line: "(node:1) ExperimentalWarning: fake warning" }]),
    );

    // a replay changes nothing in the workspace, so there is no diff to upload
    const texts = await downloadArtifacts(job._id, run._id);
    expect([...texts.keys()]).toEqual(["engine.log"]);
    expect(texts.get("engine.log")).toContain("All done.");
  });

  it("stores what an attempt produced before the job ships, and no empty artifact", async () => {
    const [silent, talking] = await Promise.all([
      cluster.service.trpc.jobs.create.mutate({ title: "silent", engine: "shell", command: "true", bodyMd: "true" }),
      cluster.service.trpc.jobs.create.mutate({
        title: "talking",
        engine: "shell",
        bodyMd: ["echo 'said something'", "echo kept > kept.txt"].join("\n"),
      }),
    ]);
    for (const { job } of [silent, talking])
      await waitForOutcome(cluster.service, job._id, "shipped", { describe: () => factory.tail() });
    // read the moment each job shipped: its uploads (the log's starts as the engine exits) are all in
    expect(await listArtifacts(cluster.service, silent.job._id)).toEqual([]);
    const stored = await listArtifacts(cluster.service, talking.job._id);
    expect(stored.map((artifact) => artifact.name).sort()).toEqual(["changes.diff", "engine.log"]);
    // and announced ahead of the completion in the job's events
    const types = (await allEvents(cluster.service, talking.job._id)).map((event) => event.type);
    const completedAt = types.indexOf("completed");
    expect(completedAt).toBeGreaterThan(-1);
    expect(types.slice(completedAt).includes("artifact")).toBe(false);
    expect(types.filter((type) => type === "artifact")).toHaveLength(2);
  });

  it("sends a flood of long lines whole: batches stay inside the coordinator's request limit", async () => {
    // 300 lines of 8,000 double quotes: each is 16 KB of JSON, 200 of them (one batch by count) 3.2 MB
    const { job } = await cluster.service.trpc.jobs.create.mutate({
      title: "long lines",
      engine: "shell",
      bodyMd: `line=$(printf '%8000s' '' | tr ' ' '"'); for i in $(seq 1 300); do echo "$line"; done`,
      maxAttempts: 1,
    });
    await waitForOutcome(cluster.service, job._id, "shipped", { describe: () => factory.tail() });
    const lines = (await allEvents(cluster.service, job._id)).filter((event) => event.type === "log");
    expect(lines).toHaveLength(300);
    expect(lines.every((event) => event.data.line === '"'.repeat(8000))).toBe(true);
  });
});
