// Aider prints plain text (with --no-pretty, no colours). The lines that matter:
//   Main model: anthropic/claude-sonnet-4 with diff edit format, prompt cache, infinite output
//     (older releases: "Model: gpt-4o with diff edit format")
//   Tokens: 2.3k sent, 1.1k received. Cost: $0.01 message, $0.03 session.
//   Tokens: 16k sent, 2.1k cache write, 12k cache hit, 494 received.
//   Cost: $0.05 message, $0.09 session.      (own line when both cache figures are shown)
//   Applied edit to src/app.ts
// One Tokens line per model call; "session" is the running total cost, so the last one
// wins. Counts are formatted by aider.utils.format_tokens ("494", "2.3k", "16k"); "M" is
// accepted as well. Without prices for the model, aider prints no Cost part at all.
// Sources: aider/coders/base_coder.py and aider/utils.py in https://github.com/Aider-AI/aider,
// https://aider.chat/docs/more/infinite-output.html (announcement line).
import type { EngineEvent } from "./engine.js";
import { logEvent, toolCallEvent } from "./events.js";
import { count, type OutputParser, type ParsedOutput, parseText, withoutUndefined } from "./output-parser.js";

const AMOUNT = String.raw`[\d.,]+[kKmM]?`;
const TOKENS = new RegExp(
  `^Tokens: (?<sent>${AMOUNT}) sent(?:, (?<write>${AMOUNT}) cache write)?(?:, (?<hit>${AMOUNT}) cache hit)?, (?<received>${AMOUNT}) received\\.`,
);
const COST = /Cost: \$(?<message>[\d.,]+) message, \$(?<session>[\d.,]+) session\./;
const APPLIED = /^Applied edit to (?<file>.+?)\s*$/;
const MODEL = /^(?:Main model|Model|Models):\s+(?<model>\S+)/;

/** "494" → 494, "2.3k" → 2300, "16k" → 16000, "1.2M" → 1200000, "1,234" → 1234. */
export function parseTokenAmount(text: string): number {
  const match = /^([\d.,]+)([kKmM]?)$/.exec(text.trim());
  if (!match) return Number.NaN;
  const value = Number((match[1] ?? "").replaceAll(",", ""));
  const scale = { k: 1e3, m: 1e6 }[(match[2] ?? "").toLowerCase()] ?? 1;
  return Math.round(value * scale);
}

export function createAiderParser(): OutputParser {
  let model: string | undefined;
  let sent = 0;
  let received = 0;
  let cacheHit = 0;
  let calls = 0;
  let edits = 0;
  let sessionCost: number | undefined;

  return {
    line(stream, raw): EngineEvent[] {
      const line = raw.trim();
      if (line === "") return [];
      const tokens = TOKENS.exec(line)?.groups;
      if (tokens) {
        calls++;
        sent += parseTokenAmount(tokens.sent ?? "") || 0;
        received += parseTokenAmount(tokens.received ?? "") || 0;
        cacheHit += tokens.hit === undefined ? 0 : parseTokenAmount(tokens.hit) || 0;
      }
      const cost = COST.exec(line)?.groups;
      if (cost?.session !== undefined) {
        const value = Number(cost.session.replaceAll(",", ""));
        if (Number.isFinite(value)) sessionCost = value;
      }
      const modelName = MODEL.exec(line)?.groups?.model;
      if (modelName !== undefined) model ??= modelName;
      const file = APPLIED.exec(line)?.groups?.file;
      if (file !== undefined) {
        edits++;
        return [toolCallEvent({ name: "edit", input: { file } })];
      }
      return [logEvent(stream, raw)];
    },

    finish(): ParsedOutput {
      const sawUsage = calls > 0;
      const insights = withoutUndefined({
        model,
        tokensIn: sawUsage ? count(sent) : undefined,
        tokensOut: sawUsage ? count(received) : undefined,
        tokensCached: cacheHit > 0 ? count(cacheHit) : undefined,
        costUsd: sessionCost,
        turns: calls,
        toolCalls: edits,
      });
      return { insights, error: sawUsage ? undefined : "aider printed no token usage: the model was never reached" };
    },
  };
}

/** Parses captured aider output in one go. */
export function parseAiderOutput(stdout: string, stderr = "") {
  return parseText(createAiderParser(), stdout, stderr);
}
