import { execFileSync } from "node:child_process";
import { dirname } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type Cluster, listArtifacts, startCluster } from "./support/cluster.js";
import { type FactoryProcess, startFactory } from "./support/factory-process.js";
import { startOpenAiTextServer } from "./support/model-server/openai.js";
import type { ScriptedModelServer } from "./support/model-server/server.js";
import { type TempDir, tempDir } from "./support/temp.js";
import { runsOf, waitForOutcome } from "./support/wait.js";

/**
 * The real Aider (PyPI `aider-chat`, not installed by `pnpm install`) through a real factory
 * against a scripted Chat Completions server. Runs when `GF_TEST_AIDER` names the `aider`
 * program or one is on PATH; skipped with a printed reason otherwise. Unsandboxed: a venv's
 * python lives outside the directories the sandbox shows (its stdlib next to the interpreter).
 */
function findAider(): { bin: string; version: string } | { why: string } {
  const bin = process.env.GF_TEST_AIDER || "aider";
  try {
    const version = execFileSync(bin, ["--version"], { encoding: "utf8", timeout: 60_000 }).trim();
    return { bin, version };
  } catch {
    return { why: `no aider (${bin}): pip install aider-chat, or set GF_TEST_AIDER to its path` };
  }
}
const aider = findAider();
if ("why" in aider) process.stderr.write(`skipping the real-aider contract test: ${aider.why}\n`);

let cluster: Cluster;
let server: ScriptedModelServer;
let factory: FactoryProcess;
let home: TempDir;

describe.runIf("bin" in aider)("aider with the real CLI", () => {
  beforeAll(async () => {
    if (!("bin" in aider)) return;
    cluster = await startCluster({
      mongoUrl: inject("mongoUrl"),
      label: "factory-aider-contract",
      env: { GF_LEASE_TTL: "30s" },
    });
    server = await startOpenAiTextServer([
      {
        text: "I'll create the file.\n\nhello.txt\n```\n<<<<<<< SEARCH\n=======\nhello from the script\n>>>>>>> REPLACE\n```\n",
        usage: { input: 100, output: 30, cached: 20 },
      },
    ]);
    home = tempDir("aider-home");
    const bin = aider.bin.includes("/") ? `${dirname(aider.bin)}:` : "";
    factory = await startFactory(cluster, {
      factoryId: "aider-real-1",
      engines: "aider",
      seats: 1,
      sandbox: false,
      env: {
        PATH: `${bin}${process.env.PATH ?? "/usr/bin:/bin"}`,
        HOME: home.path,
        OPENAI_API_KEY: "sk-test-contract",
        OPENAI_API_BASE: `${server.url}/v1`,
      },
    });
  }, 120_000);
  afterAll(async () => {
    await factory?.stop();
    await server?.close();
    await cluster?.close();
    home?.remove();
  });

  it("applies the scripted edit and ships the server's figures", async () => {
    await cluster.service.trpc.profiles.publish.mutate({
      name: "contract-aider",
      snapshot: { persona: "You are the contract test's persona.", model: "openai/gpt-4.1" },
    });
    const bodyMd = "Create hello.txt.";
    const { job } = await cluster.service.trpc.jobs.create.mutate({
      title: "aider real",
      engine: "aider",
      bodyMd,
      profile: { name: "contract-aider" },
    });
    await waitForOutcome(cluster.service, job._id, "shipped", { timeoutMs: 180_000, describe: () => factory.tail() });
    const [run] = await runsOf(cluster.service, job._id);
    // aider prints "Tokens: 120 sent, 30 received" (sent includes the cached part it was told of)
    expect(run?.insights).toMatchObject({ model: "openai/gpt-4.1", tokensOut: 30, toolCalls: 1 });
    const first = server.scripted[0]?.body as { messages?: Array<{ role: string; content: unknown }> } | undefined;
    const user = (first?.messages ?? []).filter((m) => m.role === "user").map((m) => String(m.content));
    expect(user.at(-1)).toContain(`You are the contract test's persona.\n\n---\n\n${bodyMd}`);
    const diff = (await listArtifacts(cluster.service, job._id)).find((a) => a.name === "changes.diff");
    if (!diff) throw new Error("no diff artifact");
    expect((await cluster.download(diff._id)).body.toString("utf8")).toContain("+hello from the script");
  }, 240_000);
});
