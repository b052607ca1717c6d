import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { JobEvent } from "@gigafactory/schema";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { type Cluster, listArtifacts, startCluster } from "./support/cluster.js";
import { type FactoryProcess, startFactory } from "./support/factory-process.js";
import { startAnthropicServer, WORKDIR } from "./support/model-server/anthropic.js";
import type { ScriptedModelServer } from "./support/model-server/server.js";
import type { ScriptReply } from "./support/model-server/script.js";
import { processesWith } from "./support/proc-scan.js";
import { canRunUnprivileged, type RealClis, realClis } from "./support/real-clis.js";
import { type TempDir, tempDir } from "./support/temp.js";
import { allEvents, runsOf, waitFor, waitForOutcome, waitForRunResult, waitForStage } from "./support/wait.js";

/**
 * The real Claude Code CLI (the pinned dev dependency) through a real factory, sandboxed as
 * factories run it, against a scripted Anthropic Messages API on 127.0.0.1. One factory per
 * scripted server: the server is the model every job of this factory talks to.
 */
let cluster: Cluster;
let clis: RealClis;
let home: TempDir;
const started: Array<{ factory: FactoryProcess; server: ScriptedModelServer }> = [];

beforeAll(async () => {
  // real CLIs take seconds to start on a loaded box: a lease long enough that none is lost meanwhile
  cluster = await startCluster({
    mongoUrl: inject("mongoUrl"),
    label: "factory-claude-contract",
    env: { GF_LEASE_TTL: "30s" },
  });
  clis = realClis();
  home = tempDir("claude-home");
});
// one factory at a time, so each test's job reaches the factory wired to that test's server
afterEach(async () => {
  for (const { factory, server } of started.splice(0)) {
    await factory.stop();
    await server.close();
  }
});
afterAll(async () => {
  await cluster?.close();
  clis?.remove();
  home?.remove();
});

async function factoryFor(id: string, script: ScriptReply[], env: Record<string, string> = {}) {
  const server = await startAnthropicServer(script);
  const factory = await startFactory(cluster, {
    factoryId: id,
    engines: "claude-code",
    seats: 1,
    killGrace: "2s",
    env: {
      PATH: clis.path,
      ANTHROPIC_BASE_URL: server.url,
      ANTHROPIC_API_KEY: "sk-ant-test-contract",
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
      // a HOME of its own: never this host's ~/.claude
      HOME: home.path,
      ...env,
    },
  });
  started.push({ factory, server });
  return { server, factory };
}

const texts = (events: JobEvent[], type: string) =>
  events.filter((event) => event.type === type).map((event) => event.data as Record<string, unknown>);

/** The real CLIs refuse to skip permission prompts as root: without user namespaces there is no honest run. */
const unprivileged = canRunUnprivileged();
if (!unprivileged.ok) process.stderr.write(`skipping the real-CLI contract tests: ${unprivileged.why}\n`);

describe.runIf(unprivileged.ok)("claude-code with the real CLI", () => {
  it("runs tool calls in the sandbox as a non-root user and ships the server's figures", async () => {
    const { server, factory } = await factoryFor("claude-real-1", [
      {
        text: "I will write the file.",
        toolCalls: [
          { name: "Write", input: { file_path: `${WORKDIR}/hello.txt`, content: "hello from the script\n" } },
        ],
        usage: { input: 100, output: 20, cached: 50, cacheWrite: 10 },
      },
      {
        toolCalls: [{ name: "Bash", input: { command: "id -u > uid.txt; echo bash ran", description: "run" } }],
        usage: { input: 30, output: 5, cached: 7 },
      },
      { text: "All done.", usage: { input: 3, output: 4 } },
    ]);
    await cluster.service.trpc.profiles.publish.mutate({
      name: "contract-claude",
      snapshot: { persona: "You are the contract test's persona: terse, exact.\nSecond line." },
    });
    const bodyMd = "Write hello.txt, then run `id -u`.\n\n- a list item with `code` and $dollars";
    const { job } = await cluster.service.trpc.jobs.create.mutate({
      title: "claude real",
      engine: "claude-code",
      bodyMd,
      profile: { name: "contract-claude" },
    });
    const shipped = await waitForOutcome(cluster.service, job._id, "shipped", {
      timeoutMs: 120_000,
      describe: () => factory.tail(),
    });
    expect(shipped.lastResult).toBe("success");
    const [run] = await runsOf(cluster.service, job._id);
    expect(run?.insights).toMatchObject({
      tokensIn: 143,
      tokensOut: 29,
      tokensCached: 57,
      turns: 3,
      toolCalls: 2,
    });
    expect(run?.insights.costUsd).toBeGreaterThan(0);

    const first = server.scripted[0]?.body as {
      system: Array<{ text: string }>;
      messages: Array<{ content: unknown }>;
    };
    expect(first.system.map((block) => block.text).join("\n")).toContain(
      "You are the contract test's persona: terse, exact.\nSecond line.",
    );
    const content = first.messages[0]?.content as Array<{ type: string; text?: string }>;
    expect(content.at(-1)?.text?.trimEnd()).toBe(bodyMd);

    const artifacts = await listArtifacts(cluster.service, job._id);
    const diff = artifacts.find((artifact) => artifact.name === "changes.diff");
    if (!diff) throw new Error("no diff artifact");
    const patch = (await cluster.download(diff._id)).body.toString("utf8");
    expect(patch).toContain("+hello from the script");
    // the engine ran unprivileged: not uid 0, even though this factory may run as root
    expect(patch).toMatch(/^\+1000$/m);
    const events = await allEvents(cluster.service, job._id);
    expect(texts(events, "log").some((data) => String(data.line).includes("dangerously"))).toBe(false);
  }, 240_000);

  it("the operator's engine config is visible to the CLI but a job cannot change it", async () => {
    // the factory host's own ~/.claude (here the test's HOME): settings a hostile job would like to rewrite
    const config = join(home.path, ".claude");
    mkdirSync(config, { recursive: true });
    writeFileSync(join(config, "settings.json"), '{"theme":"dark"}\n');
    const before = readdirSync(config, { recursive: true }).map(String).sort();
    const { factory } = await factoryFor("claude-real-config", [
      {
        toolCalls: [
          {
            name: "Bash",
            input: {
              command:
                "cat ~/.claude/settings.json > seen.txt; echo '{}' > ~/.claude/settings.json; touch ~/.claude/planted; echo tried",
              description: "tamper",
            },
          },
        ],
        usage: { input: 5, output: 5 },
      },
      { text: "Done.", usage: { input: 1, output: 1 } },
    ]);
    const { job } = await cluster.service.trpc.jobs.create.mutate({
      title: "claude config",
      engine: "claude-code",
      bodyMd: "Look at your settings.",
    });
    await waitForOutcome(cluster.service, job._id, "shipped", { timeoutMs: 120_000, describe: () => factory.tail() });
    const artifacts = await listArtifacts(cluster.service, job._id);
    const diff = artifacts.find((artifact) => artifact.name === "changes.diff");
    if (!diff) throw new Error("no diff artifact");
    // the CLI could read its config ...
    expect((await cluster.download(diff._id)).body.toString("utf8")).toContain('+{"theme":"dark"}');
    // ... but nothing the job or the CLI did changed the operator's copy
    expect(readFileSync(join(config, "settings.json"), "utf8")).toBe('{"theme":"dark"}\n');
    expect(readdirSync(config, { recursive: true }).map(String).sort()).toEqual(before);
  }, 240_000);

  it("ends `failure` with the API's message in the log and the reason when the key is refused", async () => {
    const { factory } = await factoryFor(
      "claude-real-401",
      [{ error: { status: 401, message: "scripted: invalid x-api-key" }, times: 3 }],
      { CLAUDE_CODE_MAX_RETRIES: "2" },
    );
    const { job } = await cluster.service.trpc.jobs.create.mutate({
      title: "claude 401",
      engine: "claude-code",
      bodyMd: "Say hello.",
      maxAttempts: 1,
    });
    const failed = await waitForOutcome(cluster.service, job._id, "failed", {
      timeoutMs: 120_000,
      describe: () => factory.tail(),
    });
    const [run] = await runsOf(cluster.service, job._id);
    expect(run?.result).toBe("failure");
    expect(`${failed.reason} ${run?.reason}`).toMatch(/invalid x-api-key|API key|401/i);
    const lines = texts(await allEvents(cluster.service, job._id), "log").map((data) => String(data.line));
    expect(lines.join("\n")).toMatch(/invalid x-api-key|401/i);
  }, 240_000);

  it("cancel ends the real CLI and the command it was running", async () => {
    const marker = `gf-contract-${process.pid}-${Date.now()}`;
    const { factory } = await factoryFor("claude-real-cancel", [
      {
        toolCalls: [
          {
            name: "Bash",
            input: { command: `sh -c 'tail -f /dev/null; :' ${marker}`, description: "wait", timeout: 600000 },
          },
        ],
        usage: { input: 5, output: 5 },
      },
    ]);
    const { job } = await cluster.service.trpc.jobs.create.mutate({
      title: "claude cancel",
      engine: "claude-code",
      bodyMd: "Wait for a long time.",
    });
    const sleeping = await waitFor("the scripted command running", () => processesWith(marker).length > 0 && true, {
      timeoutMs: 120_000,
      describe: () => factory.tail(),
    });
    expect(sleeping).toBe(true);
    const workspaceMarker = `${factory.workDir}/jobs/${job._id}`;
    await cluster.service.trpc.jobs.cancel.mutate({ jobId: job._id, reason: "contract test" });
    await waitForStage(cluster.service, job._id, "cancelled", { timeoutMs: 60_000, describe: () => factory.tail() });
    await waitFor("the command and the CLI to be gone", () => processesWith(marker).length === 0, {
      timeoutMs: 60_000,
    });
    // the CLI itself ran in the job's workspace; nothing of this job is left running
    expect(processesWith(marker)).toEqual([]);
    expect(processesWith(workspaceMarker).filter((pid) => pid !== factory.pid)).toEqual([]);
  }, 240_000);

  it("a timeout ends the real CLI and the command it was running, run result `timeout`", async () => {
    const marker = `gf-contract-timeout-${process.pid}-${Date.now()}`;
    const { factory } = await factoryFor("claude-real-timeout", [
      {
        toolCalls: [
          {
            name: "Bash",
            input: { command: `sh -c 'tail -f /dev/null; :' ${marker}`, description: "wait", timeout: 600000 },
          },
        ],
      },
    ]);
    const { job } = await cluster.service.trpc.jobs.create.mutate({
      title: "claude-code timeout",
      engine: "claude-code",
      bodyMd: "Wait for a long time.",
      timeoutMs: 20_000,
      maxAttempts: 1,
    });
    await waitFor("the scripted command running", () => processesWith(marker).length > 0, {
      timeoutMs: 20_000,
      describe: () => factory.tail(),
    });
    const run = await waitForRunResult(cluster.service, job._id, 0, { timeoutMs: 120_000 });
    expect(run.result).toBe("timeout");
    await waitFor("the command and the CLI to be gone", () => processesWith(marker).length === 0, {
      timeoutMs: 60_000,
    });
    expect(processesWith(`${factory.workDir}/jobs/${job._id}`).filter((pid) => pid !== factory.pid)).toEqual([]);
  }, 240_000);

  it("waits out a 429 with retry-after and ships with the figures of the reply that followed", async () => {
    const { server, factory } = await factoryFor("claude-real-429", [
      { error: { status: 429, message: "scripted: slow down", retryAfter: 1 } },
      { text: "Fine now.", usage: { input: 11, output: 7, cached: 2 } },
    ]);
    const { job } = await cluster.service.trpc.jobs.create.mutate({
      title: "claude 429",
      engine: "claude-code",
      bodyMd: "Hi.",
    });
    await waitForOutcome(cluster.service, job._id, "shipped", { timeoutMs: 120_000, describe: () => factory.tail() });
    const [run] = await runsOf(cluster.service, job._id);
    expect(run?.insights).toMatchObject({ tokensIn: 11, tokensOut: 7, tokensCached: 2, turns: 1, toolCalls: 0 });
    expect(server.scripted).toHaveLength(2);
    expect(server.remaining).toBe(0);
  }, 240_000);
});
