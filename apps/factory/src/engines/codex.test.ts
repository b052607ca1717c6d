import { Insights, NewEvent } from "@gigafactory/schema";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  context,
  type CtxOptions,
  drain,
  fakeBinary,
  groupGone,
  recorded,
} from "../../test/fixtures/engines/support.js";
import { type TempDir, tempDir } from "../../test/support/temp.js";
import { estimateCodexCost } from "./codex.prices.js";
import { codexEngine } from "./codex.js";

let tmp: TempDir;
beforeEach(() => {
  tmp = tempDir("engines-test");
});
afterEach(() => tmp.remove());

/** Runs the real adapter against the fake `codex` in FAKE_MODE `mode`. */
function runFake(mode: string, opts: Partial<CtxOptions> = {}) {
  const env = { FAKE_MODE: mode, FAKE_ARGV_FILE: tmp.file("argv.json"), ...opts.env };
  return codexEngine.run(context({ workdir: tmp.path, binary: fakeBinary("codex"), ...opts, env }));
}

describe("codex engine (against a fake codex)", () => {
  it("invokes codex exec with JSONL output, its own sandbox, no approvals and the profile's model; persona first", async () => {
    const { result } = await drain(
      runFake("success", { profile: { model: "gpt-5-codex", persona: "Be terse." }, bodyMd: "Fix the test" }),
    );
    expect(result.outcome).toBe("success");
    const { argv, cwd, stdin } = recorded(tmp.file("argv.json"));
    expect(argv).toEqual([
      "exec",
      "--json",
      "--skip-git-repo-check",
      "--sandbox",
      "workspace-write",
      "-c",
      'approval_policy="never"',
      "--model",
      "gpt-5-codex",
      "-",
    ]);
    expect(stdin).toBe("Be terse.\n\n---\n\nFix the test");
    expect(cwd).toBe(tmp.path);
  });

  it("lets engineArgs choose the sandbox instead of ours", async () => {
    await drain(runFake("success", { profile: { engineArgs: ["--dangerously-bypass-approvals-and-sandbox"] } }));
    const { argv } = recorded(tmp.file("argv.json"));
    expect(argv).not.toContain("workspace-write");
    expect(argv).toContain("--dangerously-bypass-approvals-and-sandbox");
  });

  it("passes a prompt that looks like a flag as '-' and sends it on stdin", async () => {
    await drain(runFake("success", { bodyMd: "--- not a flag" }));
    const call = recorded(tmp.file("argv.json"));
    expect(call.argv.at(-1)).toBe("-");
    expect(call.stdin).toBe("--- not a flag");
  });

  it("on success: insights from turn.completed, estimated cost, events per completed item", async () => {
    // the real codex 0.169.0's recording: two replies of the scripted server, summed by codex
    const { events, result } = await drain(runFake("success", { profile: { model: "gpt-5.1-codex" } }));
    expect(result.insights).toEqual({
      model: "gpt-5.1-codex",
      tokensIn: 100 + 3,
      tokensCached: 50,
      tokensOut: 20 + 4,
      costUsd: estimateCodexCost("gpt-5.1-codex", { input: 103, cachedInput: 50, output: 24 }),
      estimated: true,
      turns: 1,
      toolCalls: 1,
      durationMs: result.insights.durationMs,
    });
    // codex's warning about unknown model metadata is an `error` item: a message, not a failure
    expect(events.map((e) => e.type)).toEqual(["log", "message", "message", "tool_use", "message"]);
    expect(Insights.safeParse(result.insights).success).toBe(true);
    for (const event of events) expect(NewEvent.safeParse(event).success).toBe(true);
  });

  it("logs malformed lines and still succeeds", async () => {
    const { events, result } = await drain(runFake("malformed"));
    expect(result.outcome).toBe("success");
    expect(result.insights).toMatchObject({ tokensOut: 24, toolCalls: 1 });
    const logged = events.filter((e) => e.type === "log").map((e) => e.data.line);
    expect(logged).toEqual(expect.arrayContaining(["Reading prompt from stdin...", "{oops"]));
  });

  it("fails truncated output with what it saw", async () => {
    const { result } = await drain(runFake("truncated"));
    expect(result).toMatchObject({ outcome: "failure", exit: { code: 0 } });
    expect(result.reason).toMatch(/without turn.completed/);
    expect(result.insights).toMatchObject({ turns: 0, toolCalls: 1 });
  });

  it("fails a failed turn with codex's message", async () => {
    const { result } = await drain(runFake("error"));
    expect(result).toMatchObject({
      outcome: "failure",
      reason: expect.stringMatching(
        /^exited with code 1: codex turn failed: unexpected status 401 Unauthorized: scripted: invalid api key/,
      ),
    });
  });

  it("understands the older JSON stream", async () => {
    const { result } = await drain(runFake("legacy"));
    expect(result.outcome).toBe("success");
    expect(result.insights).toMatchObject({
      model: "gpt-5-codex",
      tokensIn: 1000,
      tokensCached: 200,
      tokensOut: 300,
      estimated: true,
      toolCalls: 1,
      turns: 1,
    });
  });

  it("is cancelled by its signal and leaves no process behind", async () => {
    const controller = new AbortController();
    const run = runFake("hang", { signal: controller.signal });
    const { result } = await drain(run, () => controller.abort());
    expect(result.outcome).toBe("cancelled");
    expect(await groupGone(run.pid ?? -1)).toBe(true);
  });
});
