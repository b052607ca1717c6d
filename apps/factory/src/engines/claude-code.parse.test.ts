import { NewEvent } from "@gigafactory/schema";
import { describe, expect, it } from "vitest";
import { parseClaudeCodeOutput } from "./claude-code.parse.js";

const jsonl = (...lines: unknown[]) =>
  `${lines.map((l) => (typeof l === "string" ? l : JSON.stringify(l))).join("\n")}\n`;

const init = {
  type: "system",
  subtype: "init",
  session_id: "s-1",
  model: "claude-opus-4-1-20250805",
  tools: ["Bash", "Read"],
  permissionMode: "bypassPermissions",
};
const usageA = { input_tokens: 3, cache_creation_input_tokens: 2000, cache_read_input_tokens: 5000, output_tokens: 40 };
const usageB = { input_tokens: 5, cache_creation_input_tokens: 100, cache_read_input_tokens: 7000, output_tokens: 300 };
const assistant = (id: string, content: unknown[], usage: unknown) => ({
  type: "assistant",
  message: { id, role: "assistant", model: "claude-opus-4-1-20250805", content, usage },
  session_id: "s-1",
});
const textA = assistant("msg_A", [{ type: "text", text: "Let me list the files." }], usageA);
const toolA = assistant("msg_A", [{ type: "tool_use", id: "toolu_1", name: "Bash", input: { command: "ls" } }], usageA);
const resultA = {
  type: "user",
  message: {
    role: "user",
    content: [{ type: "tool_result", tool_use_id: "toolu_1", content: "a.ts\nb.ts", is_error: false }],
  },
};
const toolB = assistant(
  "msg_B",
  [{ type: "tool_use", id: "toolu_2", name: "Read", input: { file_path: "a.ts" } }],
  usageB,
);
const final = {
  type: "result",
  subtype: "success",
  is_error: false,
  duration_ms: 9000,
  num_turns: 3,
  result: "Done.",
  session_id: "s-1",
  total_cost_usd: 0.1234,
  usage: { input_tokens: 8, cache_creation_input_tokens: 2100, cache_read_input_tokens: 12000, output_tokens: 340 },
};

describe("parseClaudeCodeOutput", () => {
  it("takes the final result's usage, cost and turns, and counts distinct tool calls", () => {
    const parsed = parseClaudeCodeOutput(jsonl(init, textA, toolA, resultA, toolB, final));
    expect(parsed.error).toBeUndefined();
    expect(parsed.insights).toEqual({
      model: "claude-opus-4-1-20250805",
      tokensIn: 8 + 2100,
      tokensCached: 12000,
      tokensOut: 340,
      costUsd: 0.1234,
      turns: 3,
      toolCalls: 2,
    });
  });

  it("turns assistant text into messages and tool use and results into tool_use events", () => {
    const { events } = parseClaudeCodeOutput(jsonl(init, textA, toolA, resultA, final));
    expect(events.map((e) => [e.type, e.data.role ?? e.data.phase ?? e.data.stream])).toEqual([
      ["log", "stdout"],
      ["message", "assistant"],
      ["tool_use", "call"],
      ["tool_use", "result"],
      ["log", "stdout"],
    ]);
    expect(events[1]?.data.text).toBe("Let me list the files.");
    expect(events[2]?.data).toMatchObject({ id: "toolu_1", name: "Bash", input: { command: "ls" } });
    expect(events[3]?.data).toMatchObject({ id: "toolu_1", isError: false, output: "a.ts\nb.ts" });
  });

  it("keeps going past lines that are not JSON, are cut off, or have an unknown type", () => {
    const garbage = [
      "plain text",
      '{"type":"assistant","message":{"id":"msg_X"',
      JSON.stringify({ type: "stream_event", event: {} }),
      JSON.stringify({ type: "assistant" }),
    ];
    const parsed = parseClaudeCodeOutput(
      jsonl(init, garbage[0], textA, garbage[1], garbage[2], toolA, garbage[3], final),
    );
    expect(parsed.error).toBeUndefined();
    expect(parsed.insights.toolCalls).toBe(1);
    expect(parsed.insights.tokensOut).toBe(340);
    const logged = parsed.events.filter((e) => e.type === "log").map((e) => e.data.line);
    for (const line of garbage) expect(logged).toContain(line);
  });

  it("without a final result line: failure with a reason, insights from the messages seen (usage counted once per message)", () => {
    const parsed = parseClaudeCodeOutput(jsonl(init, textA, toolA, resultA, toolB));
    expect(parsed.error).toMatch(/without a final result line/);
    expect(parsed.insights).toEqual({
      model: "claude-opus-4-1-20250805",
      tokensIn: 3 + 2000 + 5 + 100,
      tokensCached: 5000 + 7000,
      tokensOut: 40 + 300,
      turns: 2,
      toolCalls: 2,
    });
  });

  it("reports an error result as a failure naming its subtype", () => {
    const maxTurns = {
      ...final,
      subtype: "error_max_turns",
      is_error: true,
      result: undefined,
      total_cost_usd: 0.5,
      num_turns: 10,
    };
    const parsed = parseClaudeCodeOutput(jsonl(init, textA, maxTurns));
    expect(parsed.error).toBe("claude reported error_max_turns");
    expect(parsed.insights.costUsd).toBe(0.5);
    expect(parsed.insights.turns).toBe(10);
  });

  it("treats an is_error success (a failed API call) as a failure carrying its message", () => {
    const apiError = { ...final, is_error: true, result: "API Error: 529 Overloaded" };
    expect(parseClaudeCodeOutput(jsonl(init, apiError)).error).toBe("claude reported error: API Error: 529 Overloaded");
  });

  it("logs stderr lines as stderr", () => {
    const { events } = parseClaudeCodeOutput(jsonl(init, final), "warning: something\n");
    expect(events.at(-1)).toMatchObject({ type: "log", data: { stream: "stderr", line: "warning: something" } });
  });

  it("keeps every event within the event size limit, even for huge tool output", () => {
    const huge = {
      ...resultA,
      message: {
        role: "user",
        content: [{ type: "tool_result", tool_use_id: "toolu_1", content: "x".repeat(500_000) }],
      },
    };
    const { events } = parseClaudeCodeOutput(jsonl(init, toolA, huge, final));
    for (const event of events) expect(NewEvent.safeParse(event).success).toBe(true);
    expect(String(events[2]?.data.output)).toMatch(/more characters\]$/);
  });
});
