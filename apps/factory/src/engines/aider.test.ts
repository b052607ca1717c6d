import { existsSync, readFileSync } from "node:fs";
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
import { aiderEngine } from "./aider.js";

let tmp: TempDir;
beforeEach(() => {
  tmp = tempDir("engines-test");
});
afterEach(() => tmp.remove());

/** Runs the real adapter against the fake `aider` in FAKE_MODE `mode`. */
function runFake(mode: string, opts: Partial<CtxOptions> = {}) {
  const env = {
    FAKE_MODE: mode,
    FAKE_ARGV_FILE: tmp.file("argv.json"),
    FAKE_PID_FILE: tmp.file("grandchild.pid"),
    ...opts.env,
  };
  return aiderEngine.run(context({ workdir: tmp.path, binary: fakeBinary("aider"), ...opts, env }));
}

describe("aider engine (against a fake aider)", () => {
  it("invokes aider with one --message-file, unattended flags and the profile's model", async () => {
    let fileDuringRun: string | undefined;
    const { result } = await drain(runFake("success", { profile: { model: "sonnet" }, bodyMd: "Fix the test" }), () => {
      const { argv } = recorded(tmp.file("argv.json"));
      fileDuringRun ??= readFileSync(argv[1] ?? "", "utf8");
    });
    expect(result.outcome).toBe("success");
    const { argv } = recorded(tmp.file("argv.json"));
    expect(argv[0]).toBe("--message-file");
    expect(fileDuringRun).toBe("Fix the test");
    expect(argv).not.toContain("Fix the test");
    expect(argv).toEqual(
      expect.arrayContaining(["--yes-always", "--no-pretty", "--no-stream", "--no-auto-commits", "--no-check-update"]),
    );
    expect(argv.join(" ")).toContain("--model sonnet");
  });

  it("passes a long prompt through --message-file and removes the file afterwards", async () => {
    const bodyMd = `Refactor this:\n${"x".repeat(40_000)}`;
    let fileDuringRun: string | undefined;
    const { result } = await drain(runFake("success", { bodyMd }), () => {
      const { argv } = recorded(tmp.file("argv.json"));
      const path = argv[argv.indexOf("--message-file") + 1] ?? "";
      fileDuringRun ??= existsSync(path) ? readFileSync(path, "utf8") : "(missing)";
    });
    expect(result.outcome).toBe("success");
    expect(fileDuringRun).toBe(bodyMd);
    const { argv } = recorded(tmp.file("argv.json"));
    expect(argv).not.toContain("--message");
    expect(existsSync(argv[argv.indexOf("--message-file") + 1] ?? "")).toBe(false);
  });

  it("on success: insights from the Tokens/Cost/Applied edit lines, edits as tool_use events", async () => {
    const { events, result } = await drain(runFake("success"));
    expect(result.insights).toEqual({
      model: "anthropic/claude-sonnet-4-20250514",
      tokensIn: 2300 + 16000,
      tokensOut: 1100 + 494,
      tokensCached: 12000,
      costUsd: 0.08,
      turns: 2,
      toolCalls: 2,
      durationMs: result.insights.durationMs,
    });
    expect(events.filter((e) => e.type === "tool_use").map((e) => e.data.input)).toEqual([
      { file: "src/sum.ts" },
      { file: "src/sum.test.ts" },
    ]);
    expect(Insights.safeParse(result.insights).success).toBe(true);
    for (const event of events) expect(NewEvent.safeParse(event).success).toBe(true);
  });

  it("ignores usage lines it cannot read", async () => {
    const { result } = await drain(runFake("malformed"));
    expect(result.outcome).toBe("success");
    expect(result.insights).toMatchObject({ tokensIn: 18300, turns: 2, costUsd: 0.08 });
  });

  it("fails when aider never reports token usage", async () => {
    const { result } = await drain(runFake("truncated"));
    expect(result).toMatchObject({ outcome: "failure", exit: { code: 0 } });
    expect(result.reason).toMatch(/no token usage/);
  });

  it("fails on a non-zero exit", async () => {
    const { events, result } = await drain(runFake("error"));
    expect(result).toMatchObject({ outcome: "failure", exit: { code: 1 } });
    expect(events.map((e) => e.data.line)).toContain(
      "litellm.AuthenticationError: AnthropicException - invalid x-api-key",
    );
  });

  it("times out and kills the group, including a grandchild that ignores SIGTERM", async () => {
    const run = runFake("grandchild", { timeoutMs: 1_000, killGraceMs: 200 });
    const { result } = await drain(run);
    expect(result.outcome).toBe("timeout");
    expect(processRunning(Number(readFileSync(tmp.file("grandchild.pid"), "utf8")))).toBe(false);
    expect(await groupGone(run.pid ?? -1)).toBe(true);
  });
});
