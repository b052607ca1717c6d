import { readFileSync } from "node:fs";
import { Insights, NewEvent } from "@gigafactory/schema";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  context,
  type CtxOptions,
  drain,
  fakeBinary,
  groupGone,
  processRunning,
  recorded,
} from "../../test/fixtures/engines/support.js";
import { type TempDir, tempDir } from "../../test/support/temp.js";
import { claudeCodeEngine } from "./claude-code.js";
import { isGroupAlive } from "./process.js";

let tmp: TempDir;
beforeEach(() => {
  tmp = tempDir("engines-test");
});
afterEach(() => tmp.remove());

/** Runs the real adapter against the fake `claude` in FAKE_MODE `mode`. */
function runFake(mode: string, opts: Partial<CtxOptions> = {}) {
  const env = {
    FAKE_MODE: mode,
    FAKE_ARGV_FILE: tmp.file("argv.json"),
    FAKE_PID_FILE: tmp.file("grandchild.pid"),
    ...opts.env,
  };
  return claudeCodeEngine.run(context({ workdir: tmp.path, binary: fakeBinary("claude"), ...opts, env }));
}

/**
 * The figures of the real claude's recorded success (test/fixtures/engines/bin/recordings, made by
 * record.ts): what the scripted server sent in three replies, summed by the CLI. Cost is the
 * CLI's own (its result line), for the model it defaulted to.
 */
const FAKE_INSIGHTS = {
  model: "claude-opus-5-5",
  tokensIn: 100 + 30 + 3 + 10,
  tokensCached: 50 + 7,
  tokensOut: 20 + 5 + 4,
  costUsd: 0.0011734000000000002,
  turns: 3,
  toolCalls: 2,
};

describe("claude-code engine (against a fake claude)", () => {
  it("invokes claude non-interactively with stream-json and the profile's settings", async () => {
    const profile = {
      model: "claude-opus-4-1",
      maxTurns: 30,
      persona: "You are a careful reviewer.",
      env: { GF_PROFILE_VAR: "set" },
    };
    const { result } = await drain(runFake("success", { profile, bodyMd: "Fix the failing test" }));
    expect(result.outcome).toBe("success");
    const call = recorded(tmp.file("argv.json"));
    expect(call.argv[0]).toBe("-p");
    expect(call.argv).not.toContain("Fix the failing test");
    expect(call.argv.join(" ")).toContain("--output-format stream-json --verbose");
    expect(call.argv).toEqual(
      expect.arrayContaining([
        "--model",
        "claude-opus-4-1",
        "--max-turns",
        "30",
        "--append-system-prompt",
        "You are a careful reviewer.",
      ]),
    );
    expect(call.argv.join(" ")).toContain("--permission-mode bypassPermissions");
    expect(call).toMatchObject({ cwd: tmp.path, stdin: "Fix the failing test", env: { GF_PROFILE_VAR: "set" } });
  });

  it("with an allow-list, pre-approves those tools and denies the rest instead of asking", async () => {
    await drain(runFake("success", { profile: { allowedTools: ["Read", "Edit", "Bash(npm test:*)"] } }));
    const { argv } = recorded(tmp.file("argv.json"));
    expect(argv.join(" ")).toContain("--allowedTools Read,Edit,Bash(npm test:*) --permission-mode dontAsk");
  });

  it("leaves permissions to engineArgs when they set them", async () => {
    await drain(runFake("success", { profile: { engineArgs: ["--dangerously-skip-permissions"] } }));
    const { argv } = recorded(tmp.file("argv.json"));
    expect(argv).not.toContain("--permission-mode");
    expect(argv.at(-1)).toBe("--dangerously-skip-permissions");
  });

  it("sends a prompt that looks like a flag on stdin instead of argv", async () => {
    const bodyMd = "- fix the test\n- keep the API";
    await drain(runFake("success", { bodyMd }));
    const call = recorded(tmp.file("argv.json"));
    expect(call.argv[0]).toBe("-p");
    expect(call.argv).not.toContain(bodyMd);
    expect(call.stdin).toBe(bodyMd);
  });

  it("on success: messages, tool calls and tool results as events; insights as printed", async () => {
    const { events, result } = await drain(runFake("success"));
    expect(result).toMatchObject({ outcome: "success", exit: { code: 0, signal: null } });
    expect(result.insights).toEqual({ ...FAKE_INSIGHTS, durationMs: result.insights.durationMs });
    expect(Insights.safeParse(result.insights).success).toBe(true);
    for (const event of events) expect(NewEvent.safeParse(event).success).toBe(true);
    expect(events.filter((e) => e.type === "message").map((e) => e.data.text)).toEqual([
      "I will write the file.",
      "All done.",
    ]);
    expect(events.filter((e) => e.type === "tool_use").map((e) => [e.data.phase, e.data.name ?? e.data.id])).toEqual([
      ["call", "Write"],
      ["result", "toolu_scripted_1_0"],
      ["call", "Bash"],
      ["result", "toolu_scripted_2_0"],
    ]);
    expect(events).toContainEqual(
      expect.objectContaining({
        type: "log",
        data: { stream: "stderr", line: "(node:1) ExperimentalWarning: fake warning" },
      }),
    );
  });

  it("logs malformed and unknown lines and still succeeds with the same insights", async () => {
    const { events, result } = await drain(runFake("malformed"));
    expect(result.outcome).toBe("success");
    expect(result.insights).toMatchObject(FAKE_INSIGHTS);
    const logged = events.filter((e) => e.type === "log").map((e) => String(e.data.line));
    expect(logged).toContain("not json at all");
    expect(logged).toContain('{"type":"assistant","message":');
    expect(logged.some((line) => line.includes("rate_limit_event"))).toBe(true);
  });

  it("fails truncated output (no result line) even on exit 0, keeping what it saw", async () => {
    const { result } = await drain(runFake("truncated"));
    expect(result.outcome).toBe("failure");
    expect(result.reason).toMatch(/without a final result line/);
    // assistant lines carry the stream's opening usage (output_tokens 1): only the result line is final
    expect(result.insights).toMatchObject({
      model: FAKE_INSIGHTS.model,
      tokensIn: 110,
      tokensCached: 50,
      tokensOut: 1,
      turns: 1,
      toolCalls: 1,
    });
    expect(result.insights).not.toHaveProperty("costUsd");
  });

  it("fails a refused API key with the API's message (real 2.1 output: subtype success, is_error)", async () => {
    const { events, result } = await drain(runFake("error"));
    expect(result).toMatchObject({
      outcome: "failure",
      exit: { code: 1 },
      reason:
        "exited with code 1: claude reported api_error (HTTP 401): Failed to authenticate. API Error: 401 scripted: invalid api key",
    });
    expect(result.insights).toMatchObject({ model: "claude-opus-5-5", tokensIn: 0, tokensOut: 0 });
    // the retry notice is a line type the adapter has no use for: kept as a raw event
    expect(events.some((e) => e.type === "log" && String(e.data.line).includes('"subtype":"api_retry"'))).toBe(true);
  });

  it("fails an error result and says which", async () => {
    const { result } = await drain(runFake("max-turns"));
    expect(result).toMatchObject({
      outcome: "failure",
      exit: { code: 1 },
      reason: "exited with code 1: claude reported error_max_turns",
    });
    expect(result.insights).toMatchObject({ costUsd: 0.01, turns: 2 });
  });

  it("times out a hanging claude and kills its process group", async () => {
    const run = runFake("hang", { timeoutMs: 500 });
    const { result } = await drain(run);
    expect(result.outcome).toBe("timeout");
    expect(isGroupAlive(run.pid ?? -1)).toBe(false);
    expect(await groupGone(run.pid ?? -1)).toBe(true);
  });

  it("on abort kills the group, SIGKILLing a grandchild that ignores SIGTERM", async () => {
    const controller = new AbortController();
    const run = runFake("grandchild", { signal: controller.signal, killGraceMs: 300 });
    // The fake prints its first line only once the grandchild is up and ignoring SIGTERM.
    const { result } = await drain(run, () => controller.abort());
    expect(result).toMatchObject({ outcome: "cancelled", exit: { signal: "SIGTERM" } });
    const grandchild = Number(readFileSync(tmp.file("grandchild.pid"), "utf8"));
    expect(processRunning(grandchild)).toBe(false);
    expect(await groupGone(run.pid ?? -1)).toBe(true);
  });

  it("kills what claude left running when it exits on its own", async () => {
    const run = runFake("orphan");
    const { result } = await drain(run);
    expect(result.outcome).toBe("success");
    expect(processRunning(Number(readFileSync(tmp.file("grandchild.pid"), "utf8")))).toBe(false);
    expect(await groupGone(run.pid ?? -1)).toBe(true);
  });

  it("fails, without throwing, when the binary is missing", async () => {
    const { events, result } = await drain(
      claudeCodeEngine.run(context({ workdir: tmp.path, binary: tmp.file("no-claude-here") })),
    );
    expect(events).toEqual([]);
    expect(result.outcome).toBe("failure");
    expect(result.reason).toMatch(/^could not start .*no-claude-here: .*ENOENT/);
    expect(result).not.toHaveProperty("pid");
  });
});
