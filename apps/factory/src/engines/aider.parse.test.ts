import { describe, expect, it } from "vitest";
import { parseAiderOutput, parseTokenAmount } from "./aider.parse.js";

const text = (...lines: string[]) => `${lines.join("\n")}\n`;

const announce = [
  "Aider v0.86.1",
  "Main model: anthropic/claude-sonnet-4-20250514 with diff edit format, prompt cache, infinite output",
  "Weak model: anthropic/claude-3-5-haiku-20241022",
  "Git repo: .git with 42 files",
];

describe("parseTokenAmount", () => {
  it.each([
    ["494", 494],
    ["2.3k", 2300],
    ["16k", 16000],
    ["1.2M", 1_200_000],
    ["1,234", 1234],
  ])("%s → %d", (input, expected) => {
    expect(parseTokenAmount(input)).toBe(expected);
  });

  it("is NaN for something that is not an amount", () => {
    expect(parseTokenAmount("lots")).toBeNaN();
  });
});

describe("parseAiderOutput", () => {
  it("sums the Tokens lines, takes the last session cost and counts applied edits", () => {
    const parsed = parseAiderOutput(
      text(
        ...announce,
        "I'll update the function.",
        "Tokens: 2.3k sent, 1.1k received. Cost: $0.01 message, $0.03 session.",
        "Applied edit to src/sum.ts",
        "Tokens: 16k sent, 2.1k cache write, 12k cache hit, 494 received.",
        "Cost: $0.05 message, $0.08 session.",
        "Applied edit to src/sum test.ts",
      ),
    );
    expect(parsed.error).toBeUndefined();
    expect(parsed.insights).toEqual({
      model: "anthropic/claude-sonnet-4-20250514",
      tokensIn: 2300 + 16000,
      tokensOut: 1100 + 494,
      tokensCached: 12000,
      costUsd: 0.08,
      turns: 2,
      toolCalls: 2,
    });
    const edits = parsed.events.filter((e) => e.type === "tool_use").map((e) => e.data.input);
    expect(edits).toEqual([{ file: "src/sum.ts" }, { file: "src/sum test.ts" }]);
  });

  it("leaves cost out when aider has no prices for the model", () => {
    const parsed = parseAiderOutput(text(...announce, "Tokens: 900 sent, 120 received.", "Applied edit to a.py"));
    expect(parsed.insights).toEqual({
      model: "anthropic/claude-sonnet-4-20250514",
      tokensIn: 900,
      tokensOut: 120,
      turns: 1,
      toolCalls: 1,
    });
  });

  it("reads the older 'Model:' announcement", () => {
    expect(
      parseAiderOutput(text("Model: gpt-4o with diff edit format", "Tokens: 1k sent, 10 received.")).insights.model,
    ).toBe("gpt-4o");
  });

  it("does not count lines that only look like usage, and logs them", () => {
    const parsed = parseAiderOutput(
      text(...announce, "Tokens: lots sent, some received.", "Cost: $?? message", "Tokens: 1k sent, 10 received."),
    );
    expect(parsed.insights).toMatchObject({ tokensIn: 1000, tokensOut: 10, turns: 1 });
    expect(parsed.insights).not.toHaveProperty("costUsd");
    expect(parsed.events.filter((e) => e.type === "log").map((e) => e.data.line)).toContain(
      "Tokens: lots sent, some received.",
    );
  });

  it("is a failure when no Tokens line was printed (truncated, or the model was never reached)", () => {
    const parsed = parseAiderOutput(text(...announce), "litellm.AuthenticationError: invalid x-api-key\n");
    expect(parsed.error).toMatch(/no token usage/);
    expect(parsed.insights).toEqual({ model: "anthropic/claude-sonnet-4-20250514", turns: 0, toolCalls: 0 });
    expect(parsed.events.at(-1)?.data).toEqual({
      stream: "stderr",
      line: "litellm.AuthenticationError: invalid x-api-key",
    });
  });
});
