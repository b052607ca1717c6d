import { describe, expect, it } from "vitest";
import { parseCodexOutput } from "./codex.parse.js";
import { estimateCodexCost } from "./codex.prices.js";

const jsonl = (...lines: unknown[]) =>
  `${lines.map((l) => (typeof l === "string" ? l : JSON.stringify(l))).join("\n")}\n`;

const started = { type: "thread.started", thread_id: "0199a213-81c0-7800-8aa1-bbab2a035a53" };
const turn = { type: "turn.started" };
const reasoning = {
  type: "item.completed",
  item: { id: "item_0", type: "reasoning", text: "**Looking at the test**" },
};
const cmdStarted = {
  type: "item.started",
  item: {
    id: "item_1",
    type: "command_execution",
    command: "bash -lc ls",
    aggregated_output: "",
    exit_code: null,
    status: "in_progress",
  },
};
const cmdDone = {
  type: "item.completed",
  item: {
    id: "item_1",
    type: "command_execution",
    command: "bash -lc ls",
    aggregated_output: "docs\nsrc\n",
    exit_code: 0,
    status: "completed",
  },
};
const patch = {
  type: "item.completed",
  item: { id: "item_2", type: "file_change", changes: [{ path: "src/a.ts", kind: "update" }], status: "completed" },
};
const answer = { type: "item.completed", item: { id: "item_3", type: "agent_message", text: "Done: fixed src/a.ts." } };
const usage = (input: number, cached: number, output: number) => ({
  type: "turn.completed",
  usage: { input_tokens: input, cached_input_tokens: cached, output_tokens: output },
});

describe("parseCodexOutput", () => {
  it("reads usage from turn.completed, counts tool items and estimates cost for a known model", () => {
    const parsed = parseCodexOutput(
      jsonl(started, turn, reasoning, cmdStarted, cmdDone, patch, answer, usage(26549, 22272, 1590)),
      { model: "gpt-5-codex" },
    );
    expect(parsed.error).toBeUndefined();
    expect(parsed.insights).toEqual({
      model: "gpt-5-codex",
      tokensIn: 26549 - 22272,
      tokensCached: 22272,
      tokensOut: 1590,
      costUsd: 0.02403,
      estimated: true,
      turns: 1,
      toolCalls: 2,
    });
  });

  it("emits one event per completed item and none for started ones", () => {
    const { events } = parseCodexOutput(
      jsonl(started, turn, reasoning, cmdStarted, cmdDone, patch, answer, usage(10, 0, 5)),
    );
    expect(events.map((e) => [e.type, e.data.role ?? e.data.name ?? e.data.stream])).toEqual([
      ["log", "stdout"],
      ["message", "reasoning"],
      ["tool_use", "command_execution"],
      ["tool_use", "file_change"],
      ["message", "assistant"],
    ]);
    expect(events[2]?.data).toMatchObject({ input: { command: "bash -lc ls" }, exitCode: 0, output: "docs\nsrc\n" });
  });

  it("takes the last usage (it is the session's running total) and counts turns", () => {
    const parsed = parseCodexOutput(jsonl(started, turn, usage(100, 50, 10), turn, usage(300, 120, 40)));
    expect(parsed.insights).toMatchObject({ tokensIn: 180, tokensCached: 120, tokensOut: 40, turns: 2 });
  });

  it("leaves cost out for a model it has no price for, or when no model is known", () => {
    expect(
      parseCodexOutput(jsonl(started, usage(100, 0, 10)), { model: "some-local-model" }).insights,
    ).not.toHaveProperty("costUsd");
    expect(parseCodexOutput(jsonl(started, usage(100, 0, 10))).insights).not.toHaveProperty("estimated");
  });

  it("fails on turn.failed with its message", () => {
    const failed = { type: "turn.failed", error: { message: "unexpected status 401 Unauthorized" } };
    const parsed = parseCodexOutput(jsonl(started, turn, { type: "error", message: "stream error" }, failed));
    expect(parsed.error).toBe("codex turn failed: unexpected status 401 Unauthorized");
  });

  it("does not fail a run whose stream errors were retried and then completed", () => {
    const retry = { type: "error", message: "Re-connecting... 1/5 (stream disconnected before completion)" };
    const parsed = parseCodexOutput(jsonl(started, turn, retry, answer, usage(10, 0, 5)));
    expect(parsed.error).toBeUndefined();
    expect(parsed.events.some((e) => e.type === "message" && e.data.role === "error")).toBe(true);
  });

  it("without turn.completed: failure with a reason, and what was seen", () => {
    const parsed = parseCodexOutput(jsonl(started, turn, reasoning, cmdDone));
    expect(parsed.error).toMatch(/without turn.completed/);
    expect(parsed.insights).toEqual({ turns: 0, toolCalls: 1 });
  });

  it("logs lines that are not JSON or not a known event, and carries on", () => {
    const bad = [
      "Reading prompt from stdin...",
      "{not json",
      JSON.stringify({ type: "session.configured" }),
      JSON.stringify({ type: "item.completed", item: { type: "future_item" } }),
    ];
    const parsed = parseCodexOutput(jsonl(started, bad[0], bad[1], turn, bad[2], answer, bad[3], usage(10, 0, 5)));
    expect(parsed.error).toBeUndefined();
    const logged = parsed.events.filter((e) => e.type === "log").map((e) => e.data.line);
    for (const line of bad) expect(logged).toContain(line);
  });

  it("understands the older {msg:{…}} stream", () => {
    const legacy = [
      { model: "o4-mini", provider: "openai", approval: "never", sandbox: "workspace-write" },
      { prompt: "fix it" },
      { id: "0", msg: { type: "exec_command_begin", call_id: "c1", command: ["bash", "-lc", "ls"] } },
      { id: "0", msg: { type: "agent_message", message: "Fixed." } },
      { id: "0", msg: { type: "token_count", input_tokens: 1000, cached_input_tokens: 200, output_tokens: 100 } },
      { id: "0", msg: { type: "task_complete", last_agent_message: "Fixed." } },
    ];
    const parsed = parseCodexOutput(jsonl(...legacy));
    expect(parsed.error).toBeUndefined();
    expect(parsed.insights).toEqual({
      model: "o4-mini",
      tokensIn: 800,
      tokensCached: 200,
      tokensOut: 100,
      costUsd: estimateCodexCost("o4-mini", { input: 800, cachedInput: 200, output: 100 }),
      estimated: true,
      turns: 1,
      toolCalls: 1,
    });
  });

  it("reads the newer token_count shape with info.total_token_usage", () => {
    const tokenCount = {
      id: "0",
      msg: {
        type: "token_count",
        info: { total_token_usage: { input_tokens: 500, cached_input_tokens: 100, output_tokens: 50 } },
      },
    };
    const parsed = parseCodexOutput(jsonl(tokenCount, { id: "0", msg: { type: "task_complete" } }));
    expect(parsed.insights).toMatchObject({ tokensIn: 400, tokensCached: 100, tokensOut: 50 });
  });
});

describe("estimateCodexCost", () => {
  it("prices uncached input, cached input and output separately", () => {
    expect(estimateCodexCost("gpt-5", { input: 1_000_000, cachedInput: 1_000_000, output: 1_000_000 })).toBe(
      1.25 + 0.125 + 10,
    );
    expect(estimateCodexCost("openai/gpt-5-mini", { input: 2_000_000, cachedInput: 0, output: 0 })).toBe(0.5);
    expect(estimateCodexCost("unknown", { input: 1, cachedInput: 1, output: 1 })).toBeUndefined();
  });
});
