// Claude Code `--output-format stream-json --verbose` output: one JSON object per line.
//   {"type":"system","subtype":"init","session_id":…,"model":"claude-…","tools":[…],…}
//   {"type":"assistant","message":{"id":"msg_…","model":…,"content":[{"type":"text",…},
//     {"type":"tool_use","id":"toolu_…","name":"Bash","input":{…}}],"usage":{…}},…}
//   {"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":…,"content":…,"is_error":…}]}}
//   {"type":"result","subtype":"success"|"error_max_turns"|"error_during_execution"|…,
//     "is_error":…,"num_turns":…,"total_cost_usd":…,"usage":{"input_tokens",
//     "cache_creation_input_tokens","cache_read_input_tokens","output_tokens"},"result":"…"}
// Claude Code 2.1 (recorded in test/fixtures/engines/bin/recordings) adds many fields (init has ~30),
// `system` lines of other subtypes (`api_retry`), `timestamp` and `tool_use_result` on lines, and
// reports an API error as subtype `success` with `is_error`, `terminal_reason` and
// `api_error_status`. Unknown lines are kept as raw `log` events, never dropped. Usage on
// assistant lines is the stream's start (output_tokens 1), so only the result line's is final.
// One assistant message with several content blocks arrives as several lines with the same
// message id and the same usage, so usage is keyed by message id.
// Sources: https://docs.claude.com/en/docs/claude-code/headless (stream-json),
// https://docs.rs/claude-codes/latest/claude_codes/io/struct.ResultMessage.html (result fields).
import type { Insights } from "@gigafactory/schema";
import { z } from "zod";
import type { EngineEvent } from "./engine.js";
import { logEvent, messageEvent, toolCallEvent, toolResultEvent } from "./events.js";
import {
  count,
  jsonObject,
  type OutputParser,
  type ParsedOutput,
  parseText,
  withoutUndefined,
} from "./output-parser.js";

const Usage = z.object({
  input_tokens: z.number().optional(),
  output_tokens: z.number().optional(),
  cache_read_input_tokens: z.number().optional(),
  cache_creation_input_tokens: z.number().optional(),
});
type Usage = z.infer<typeof Usage>;

const Block = z.discriminatedUnion("type", [
  z.object({ type: z.literal("text"), text: z.string() }),
  z.object({ type: z.literal("thinking"), thinking: z.string() }),
  z.object({ type: z.literal("tool_use"), id: z.string().optional(), name: z.string(), input: z.unknown() }),
  z.object({
    type: z.literal("tool_result"),
    tool_use_id: z.string().optional(),
    content: z.unknown(),
    is_error: z.boolean().optional(),
  }),
]);

const Line = z.discriminatedUnion("type", [
  z.object({ type: z.literal("system"), subtype: z.string().optional(), model: z.string().optional() }),
  z.object({
    type: z.literal("assistant"),
    message: z.object({
      id: z.string().optional(),
      model: z.string().optional(),
      content: z.array(z.unknown()).default([]),
      usage: Usage.optional(),
    }),
  }),
  z.object({ type: z.literal("user"), message: z.object({ content: z.union([z.string(), z.array(z.unknown())]) }) }),
  z.object({
    type: z.literal("result"),
    subtype: z.string(),
    is_error: z.boolean().optional(),
    num_turns: z.number().optional(),
    total_cost_usd: z.number().optional(),
    usage: Usage.optional(),
    result: z.string().optional(),
    errors: z.array(z.unknown()).optional(),
    /** Since 2.1: why the session ended (`completed`, `api_error`, `max_turns`, …). */
    terminal_reason: z.string().optional(),
    /** Since 2.1: the HTTP status of the API error that ended it, else null. */
    api_error_status: z.number().nullable().optional(),
  }),
]);
type ResultLine = Extract<z.infer<typeof Line>, { type: "result" }>;

/** The model name on messages the CLI makes up itself (e.g. an API error shown as a reply). */
const SYNTHETIC = "<synthetic>";

export function createClaudeCodeParser(): OutputParser {
  let model: string | undefined;
  let result: ResultLine | undefined;
  const usageByMessage = new Map<string, Usage>();
  const toolUseIds = new Set<string>();
  let anonymousToolUses = 0;

  return {
    line(stream, raw) {
      if (stream === "stderr") return [logEvent(stream, raw)];
      if (raw.trim() === "") return [];
      const parsed = Line.safeParse(jsonObject(raw));
      if (!parsed.success) return [logEvent(stream, raw)];
      const line = parsed.data;
      switch (line.type) {
        case "system":
          model = line.model ?? model;
          return [logEvent(stream, raw)];
        case "assistant": {
          const { message } = line;
          // the CLI's own messages (an API error shown as text) say `<synthetic>`, not a model
          if (message.model !== undefined && message.model !== SYNTHETIC) model = message.model;
          if (message.id !== undefined && message.usage) usageByMessage.set(message.id, message.usage);
          const events: EngineEvent[] = [];
          for (const block of blocks(message.content)) {
            if (block.type === "text") events.push(messageEvent("assistant", block.text));
            else if (block.type === "thinking") events.push(messageEvent("thinking", block.thinking));
            else if (block.type === "tool_use") {
              if (block.id === undefined) anonymousToolUses++;
              else toolUseIds.add(block.id);
              events.push(toolCallEvent({ id: block.id, name: block.name, input: block.input }));
            }
          }
          return events;
        }
        case "user": {
          const content = typeof line.message.content === "string" ? [] : line.message.content;
          return blocks(content).flatMap((block) =>
            block.type === "tool_result"
              ? [toolResultEvent({ id: block.tool_use_id, isError: block.is_error ?? false, output: block.content })]
              : [],
          );
        }
        case "result":
          result = line;
          return [logEvent(stream, raw)];
      }
    },

    finish(): ParsedOutput {
      const usage = result?.usage ?? sumUsage(usageByMessage.values());
      const insights: Insights = {
        model,
        tokensIn: count((usage.input_tokens ?? 0) + (usage.cache_creation_input_tokens ?? 0)),
        tokensOut: count(usage.output_tokens ?? 0),
        tokensCached: count(usage.cache_read_input_tokens ?? 0),
        costUsd: result?.total_cost_usd === undefined ? undefined : Math.max(0, result.total_cost_usd),
        turns: count(result?.num_turns ?? usageByMessage.size),
        toolCalls: toolUseIds.size + anonymousToolUses,
      };
      return { insights: withoutUndefined(insights), error: resultError(result) };
    },
  };
}

/** Parses captured Claude Code stream-json output in one go. */
export function parseClaudeCodeOutput(stdout: string, stderr = "") {
  return parseText(createClaudeCodeParser(), stdout, stderr);
}

function resultError(result: ResultLine | undefined): string | undefined {
  if (result === undefined) return "claude ended without a final result line (output truncated)";
  if (result.subtype === "success" && result.is_error !== true) return undefined;
  // 2.1 reports an API error as subtype `success` with is_error, terminal_reason and the status
  const status = result.api_error_status == null ? "" : ` (HTTP ${result.api_error_status})`;
  const kind = `${result.subtype === "success" ? (result.terminal_reason ?? "error") : result.subtype}${status}`;
  const details = [result.result, ...(result.errors ?? []).map((e) => (typeof e === "string" ? e : JSON.stringify(e)))];
  const detail = details.filter((d) => d !== undefined && d.trim() !== "").join("; ");
  return detail === "" ? `claude reported ${kind}` : `claude reported ${kind}: ${detail}`;
}

function blocks(content: unknown[]) {
  return content.flatMap((item) => {
    const block = Block.safeParse(item);
    return block.success ? [block.data] : [];
  });
}

function sumUsage(usages: Iterable<Usage>): Usage {
  const total = { input_tokens: 0, output_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 };
  for (const u of usages) {
    total.input_tokens += u.input_tokens ?? 0;
    total.output_tokens += u.output_tokens ?? 0;
    total.cache_read_input_tokens += u.cache_read_input_tokens ?? 0;
    total.cache_creation_input_tokens += u.cache_creation_input_tokens ?? 0;
  }
  return total;
}
