import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { JobEvent } from "@gigafactory/schema";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { estimateCodexCost } from "../src/engines/codex.prices.js";
import { type Cluster, listArtifacts, startCluster } from "./support/cluster.js";
import { type FactoryProcess, startFactory } from "./support/factory-process.js";
import { startOpenAiServer } from "./support/model-server/openai.js";
import type { ScriptReply } from "./support/model-server/script.js";
import type { ScriptedModelServer } from "./support/model-server/server.js";
import { processesWith } from "./support/proc-scan.js";
import { canRunUnprivileged, type RealClis, realClis } from "./support/real-clis.js";
import { type TempDir, tempDir } from "./support/temp.js";
import { allEvents, runsOf, waitFor, waitForOutcome, waitForRunResult, waitForStage } from "./support/wait.js";

/**
 * The real Codex CLI (the pinned dev dependency) through a real factory, sandboxed as factories
 * run it, against a scripted OpenAI Responses API on 127.0.0.1. Codex finds the server through a
 * model provider in `~/.codex/config.toml` (HOME is the test's), as a user would configure one.
 */
const MODEL = "gpt-5.1-codex";
let cluster: Cluster;
let clis: RealClis;
const started: Array<{ factory: FactoryProcess; server: ScriptedModelServer; home: TempDir }> = [];

beforeAll(async () => {
  cluster = await startCluster({
    mongoUrl: inject("mongoUrl"),
    label: "factory-codex-contract",
    env: { GF_LEASE_TTL: "30s" },
  });
  clis = realClis();
});
afterEach(async () => {
  for (const { factory, server, home } of started.splice(0)) {
    await factory.stop();
    await server.close();
    home.remove();
  }
});
afterAll(async () => {
  await cluster?.close();
  clis?.remove();
});

async function factoryFor(id: string, script: ScriptReply[]) {
  const server = await startOpenAiServer(script);
  const home = tempDir("codex-home");
  mkdirSync(join(home.path, ".codex"));
  writeFileSync(
    join(home.path, ".codex", "config.toml"),
    [
      `model = "${MODEL}"`,
      'model_provider = "scripted"',
      "[model_providers.scripted]",
      'name = "scripted"',
      `base_url = "${server.url}/v1"`,
      'env_key = "OPENAI_API_KEY"',
      'wire_api = "responses"',
      "request_max_retries = 0",
      "stream_max_retries = 0",
      "",
    ].join("\n"),
  );
  const factory = await startFactory(cluster, {
    factoryId: id,
    engines: "codex",
    seats: 1,
    killGrace: "2s",
    env: { PATH: clis.path, HOME: home.path, OPENAI_API_KEY: "sk-test-contract" },
  });
  started.push({ factory, server, home });
  return { server, factory };
}

const logLines = (events: JobEvent[]) =>
  events.filter((event) => event.type === "log").map((event) => String((event.data as { line?: unknown }).line));

/** The real CLIs refuse to skip permission prompts as root: without user namespaces there is no honest run. */
const unprivileged = canRunUnprivileged();
if (!unprivileged.ok) process.stderr.write(`skipping the real-CLI contract tests: ${unprivileged.why}\n`);

describe.runIf(unprivileged.ok)("codex with the real CLI", () => {
  it("runs a command in the sandbox as a non-root user and ships the server's figures", async () => {
    const { server, factory } = await factoryFor("codex-real-1", [
      {
        text: "Writing.",
        toolCalls: [
          { name: "exec_command", input: { cmd: "echo hello from the script > hello.txt; id -u > uid.txt" } },
        ],
        usage: { input: 100, output: 20, cached: 50 },
      },
      { text: "All done.", usage: { input: 3, output: 4 } },
    ]);
    await cluster.service.trpc.profiles.publish.mutate({
      name: "contract-codex",
      snapshot: { persona: "You are the contract test's persona.", model: MODEL },
    });
    const bodyMd = "Write hello.txt, then run `id -u`.\n\n- a list item with $dollars";
    const { job } = await cluster.service.trpc.jobs.create.mutate({
      title: "codex real",
      engine: "codex",
      bodyMd,
      profile: { name: "contract-codex" },
    });
    await waitForOutcome(cluster.service, job._id, "shipped", { timeoutMs: 120_000, describe: () => factory.tail() });
    const [run] = await runsOf(cluster.service, job._id);
    // codex sums the session: input includes cached; one exec is one turn however many requests
    const tokens = { input: 103, cachedInput: 50, output: 24 };
    expect(run?.insights).toMatchObject({
      model: MODEL,
      tokensIn: tokens.input,
      tokensCached: tokens.cachedInput,
      tokensOut: tokens.output,
      turns: 1,
      toolCalls: 1,
      estimated: true,
      costUsd: estimateCodexCost(MODEL, tokens),
    });
    expect(server.scripted).toHaveLength(2);
    type ResponsesBody = { input: Array<{ role?: string; content?: Array<{ text?: string }> }> };
    const first = server.scripted[0]?.body as ResponsesBody | undefined;
    const input = first?.input ?? [];
    const userTexts = input.filter((item) => item.role === "user").flatMap((item) => item.content ?? []);
    expect(userTexts.at(-1)?.text?.trimEnd()).toBe(`You are the contract test's persona.\n\n---\n\n${bodyMd}`);

    const diff = (await listArtifacts(cluster.service, job._id)).find((artifact) => artifact.name === "changes.diff");
    if (!diff) throw new Error("no diff artifact");
    const patch = (await cluster.download(diff._id)).body.toString("utf8");
    expect(patch).toContain("+hello from the script");
    expect(patch).toMatch(/^\+1000$/m);
  }, 240_000);

  it("ends `failure` with the API's message in the log and the reason when the key is refused", async () => {
    const { factory } = await factoryFor("codex-real-401", [
      { error: { status: 401, message: "scripted: incorrect API key provided" }, times: 5 },
    ]);
    const { job } = await cluster.service.trpc.jobs.create.mutate({
      title: "codex 401",
      engine: "codex",
      bodyMd: "Say hello.",
      maxAttempts: 1,
    });
    const failed = await waitForOutcome(cluster.service, job._id, "failed", {
      timeoutMs: 120_000,
      describe: () => factory.tail(),
    });
    const [run] = await runsOf(cluster.service, job._id);
    expect(run?.result).toBe("failure");
    expect(`${failed.reason} ${run?.reason}`).toMatch(/incorrect API key|401|Unauthorized/i);
    const events = await allEvents(cluster.service, job._id);
    const said = [
      ...logLines(events),
      ...events.filter((e) => e.type === "message").map((e) => JSON.stringify(e.data)),
    ].join("\n");
    expect(said).toMatch(/incorrect API key|401|Unauthorized/i);
  }, 240_000);

  it("cancel ends the real CLI and the command it was running", async () => {
    const marker = `gf-contract-${process.pid}-${Date.now()}`;
    const { factory } = await factoryFor("codex-real-cancel", [
      {
        toolCalls: [
          { name: "exec_command", input: { cmd: `sh -c 'tail -f /dev/null; :' ${marker}`, yield_time_ms: 600000 } },
        ],
      },
    ]);
    const { job } = await cluster.service.trpc.jobs.create.mutate({
      title: "codex cancel",
      engine: "codex",
      bodyMd: "Wait for a long time.",
    });
    await waitFor("the scripted command running", () => processesWith(marker).length > 0, {
      timeoutMs: 120_000,
      describe: () => factory.tail(),
    });
    await cluster.service.trpc.jobs.cancel.mutate({ jobId: job._id, reason: "contract test" });
    await waitForStage(cluster.service, job._id, "cancelled", { timeoutMs: 60_000, describe: () => factory.tail() });
    await waitFor("the command and the CLI to be gone", () => processesWith(marker).length === 0, {
      timeoutMs: 60_000,
    });
    expect(processesWith(`${factory.workDir}/jobs/${job._id}`).filter((pid) => pid !== factory.pid)).toEqual([]);
  }, 240_000);

  it("a timeout ends the real CLI and the command it was running, run result `timeout`", async () => {
    const marker = `gf-contract-timeout-${process.pid}-${Date.now()}`;
    const { factory } = await factoryFor("codex-real-timeout", [
      {
        toolCalls: [
          { name: "exec_command", input: { cmd: `sh -c 'tail -f /dev/null; :' ${marker}`, yield_time_ms: 600000 } },
        ],
      },
    ]);
    const { job } = await cluster.service.trpc.jobs.create.mutate({
      title: "codex timeout",
      engine: "codex",
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

  it("a stream cut mid-way ends the run `failure` with codex's message", async () => {
    const { factory } = await factoryFor("codex-real-cut", [
      { text: "This answer never ends", chunks: 4, cutAfterEvents: 3, usage: { input: 5, output: 5 } },
    ]);
    const { job } = await cluster.service.trpc.jobs.create.mutate({
      title: "codex cut",
      engine: "codex",
      bodyMd: "Say hello.",
      maxAttempts: 1,
    });
    await waitForOutcome(cluster.service, job._id, "failed", { timeoutMs: 120_000, describe: () => factory.tail() });
    const [run] = await runsOf(cluster.service, job._id);
    expect(run?.result).toBe("failure");
    expect(run?.reason).toMatch(/stream|disconnected|closed/i);
  }, 240_000);
});
