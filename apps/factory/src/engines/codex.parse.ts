// `codex exec --json` output: one JSON object per line (codex-rs/exec/src/exec_events.rs):
//   {"type":"thread.started","thread_id":…}   {"type":"turn.started"}
//   {"type":"item.started"|"item.updated"|"item.completed","item":{"id":…,"type":
//     "agent_message"|"reasoning"|"command_execution"|"file_change"|"mcp_tool_call"|
//     "web_search"|"todo_list"|"error", …}}
//   {"type":"turn.completed","usage":{"input_tokens","cached_input_tokens","output_tokens"}}
//   {"type":"turn.failed","error":{"message"}}   {"type":"error","message":…}
// `usage` is the session's running total (the exec JSONL processor copies the last
// `total_token_usage`), so the last one wins; `input_tokens` includes the cached ones.
// `error` events also report retried stream errors, so they only fail a run that never
// completed a turn. Older releases printed a config summary object (with "model") and then
// `{"id":…,"msg":{"type":"agent_message"|"exec_command_begin"|"token_count"|"task_complete",…}}`;
// those are understood too. Items only produce events when completed, to avoid duplicates.
// Sources: https://github.com/openai/codex/blob/main/codex-rs/exec/src/exec_events.rs,
// https://github.com/openai/codex/issues/5276 (turn.completed sample).
import { z } from "zod";
import type { EngineEvent } from "./engine.js";
import { estimateCodexCost } from "./codex.prices.js";
import { logEvent, messageEvent, toolCallEvent } from "./events.js";
import {
  count,
  jsonObject,
  type OutputParser,
  type ParsedOutput,
  parseText,
  withoutUndefined,
} from "./output-parser.js";

const Usage = z.object({
  input_tokens: z.number().default(0),
  cached_input_tokens: z.number().default(0),
  output_tokens: z.number().default(0),
});
type Usage = z.infer<typeof Usage>;

const Item = z.discriminatedUnion("type", [
  z.object({ type: z.literal("agent_message"), text: z.string() }),
  z.object({ type: z.literal("reasoning"), text: z.string() }),
  z.object({
    type: z.literal("command_execution"),
    id: z.string().optional(),
    command: z.string(),
    aggregated_output: z.string().optional(),
    exit_code: z.number().nullable().optional(),
    status: z.string().optional(),
  }),
  z.object({
    type: z.literal("file_change"),
    id: z.string().optional(),
    changes: z.array(z.unknown()),
    status: z.string().optional(),
  }),
  z.object({
    type: z.literal("mcp_tool_call"),
    id: z.string().optional(),
    server: z.string(),
    tool: z.string(),
    arguments: z.unknown(),
    status: z.string().optional(),
  }),
  z.object({ type: z.literal("web_search"), id: z.string().optional(), query: z.string() }),
  z.object({ type: z.literal("error"), message: z.string() }),
]);

const Line = z.discriminatedUnion("type", [
  z.object({ type: z.literal("thread.started") }),
  z.object({ type: z.literal("turn.started") }),
  z.object({ type: z.literal("turn.completed"), usage: Usage }),
  z.object({ type: z.literal("turn.failed"), error: z.object({ message: z.string() }) }),
  z.object({ type: z.enum(["item.started", "item.updated"]) }),
  z.object({ type: z.literal("item.completed"), item: z.record(z.string(), z.unknown()) }),
  z.object({ type: z.literal("error"), message: z.string() }),
]);

/** The pre-`thread.*` format; only what is cheap to use. */
const LegacyMsg = z.discriminatedUnion("type", [
  z.object({ type: z.literal("agent_message"), message: z.string() }),
  z.object({ type: z.literal("exec_command_begin"), call_id: z.string().optional(), command: z.array(z.string()) }),
  z.object({ type: z.literal("patch_apply_begin"), call_id: z.string().optional(), changes: z.unknown() }),
  z.object({ type: z.literal("mcp_tool_call_begin"), call_id: z.string().optional() }),
  z
    .object({ type: z.literal("token_count"), info: z.object({ total_token_usage: Usage }).nullable().optional() })
    .passthrough(),
  z.object({ type: z.literal("task_complete") }),
  z.object({ type: z.literal("error"), message: z.string() }),
]);

export interface CodexParserOptions {
  /** The model asked for (codex's JSONL does not name it); used for insights and cost. */
  model?: string;
}

export function createCodexParser(opts: CodexParserOptions = {}): OutputParser {
  let model = opts.model;
  let usage: Usage | undefined;
  let turns = 0;
  let toolCalls = 0;
  let failed: string | undefined;
  let lastError: string | undefined;

  const completedItem = (raw: Record<string, unknown>, line: string): EngineEvent[] => {
    const parsed = Item.safeParse(raw);
    if (!parsed.success) return [logEvent("stdout", line)];
    const item = parsed.data;
    switch (item.type) {
      case "agent_message":
        return [messageEvent("assistant", item.text)];
      case "reasoning":
        return [messageEvent("reasoning", item.text)];
      case "error":
        return [messageEvent("error", item.message)];
      case "command_execution":
        toolCalls++;
        return [
          toolCallEvent({
            id: item.id,
            name: "command_execution",
            input: { command: item.command },
            exitCode: item.exit_code,
            status: item.status,
            output: item.aggregated_output,
          }),
        ];
      case "file_change":
        toolCalls++;
        return [
          toolCallEvent({ id: item.id, name: "file_change", input: { changes: item.changes }, status: item.status }),
        ];
      case "mcp_tool_call":
        toolCalls++;
        return [
          toolCallEvent({
            id: item.id,
            name: `mcp:${item.server}/${item.tool}`,
            input: item.arguments,
            status: item.status,
          }),
        ];
      case "web_search":
        toolCalls++;
        return [toolCallEvent({ id: item.id, name: "web_search", input: { query: item.query } })];
    }
  };

  const legacy = (msg: unknown, line: string): EngineEvent[] => {
    const parsed = LegacyMsg.safeParse(msg);
    if (!parsed.success) return [logEvent("stdout", line)];
    const m = parsed.data;
    switch (m.type) {
      case "agent_message":
        return [messageEvent("assistant", m.message)];
      case "exec_command_begin":
        toolCalls++;
        return [toolCallEvent({ id: m.call_id, name: "command_execution", input: { command: m.command.join(" ") } })];
      case "patch_apply_begin":
        toolCalls++;
        return [toolCallEvent({ id: m.call_id, name: "file_change", input: m.changes })];
      case "mcp_tool_call_begin":
        toolCalls++;
        return [];
      case "token_count": {
        const flat = Usage.safeParse(m);
        usage = m.info?.total_token_usage ?? (flat.success ? flat.data : usage);
        return [];
      }
      case "task_complete":
        turns++;
        return [];
      case "error":
        lastError = m.message;
        return [messageEvent("error", m.message)];
    }
  };

  return {
    line(stream, raw) {
      if (stream === "stderr") return [logEvent(stream, raw)];
      if (raw.trim() === "") return [];
      const obj = jsonObject(raw);
      if (obj === undefined) return [logEvent(stream, raw)];
      if ("msg" in obj) return legacy(obj.msg, raw);
      if (!("type" in obj) && typeof obj.model === "string") {
        model ??= obj.model; // legacy config summary
        return [logEvent(stream, raw)];
      }
      const parsed = Line.safeParse(obj);
      if (!parsed.success) return [logEvent(stream, raw)];
      const line = parsed.data;
      switch (line.type) {
        case "thread.started":
          return [logEvent(stream, raw)];
        case "turn.started":
        case "item.started":
        case "item.updated":
          return [];
        case "turn.completed":
          turns++;
          usage = line.usage;
          return [];
        case "turn.failed":
          failed = line.error.message;
          return [messageEvent("error", line.error.message)];
        case "error":
          lastError = line.message;
          return [messageEvent("error", line.message)];
        case "item.completed":
          return completedItem(line.item, raw);
      }
    },

    finish(): ParsedOutput {
      const tokens = usage && {
        input: Math.max(0, usage.input_tokens - usage.cached_input_tokens),
        cachedInput: usage.cached_input_tokens,
        output: usage.output_tokens,
      };
      const costUsd = tokens && estimateCodexCost(model, tokens);
      const insights = withoutUndefined({
        model,
        tokensIn: count(tokens?.input),
        tokensCached: count(tokens?.cachedInput),
        tokensOut: count(tokens?.output),
        costUsd,
        estimated: costUsd === undefined ? undefined : true,
        turns,
        toolCalls,
      });
      let error: string | undefined;
      if (failed !== undefined) error = `codex turn failed: ${failed}`;
      else if (turns === 0) error = lastError ?? "codex ended without turn.completed (output truncated)";
      return { insights, error };
    },
  };
}

/** Parses captured `codex exec --json` output in one go. */
export function parseCodexOutput(stdout: string, opts: CodexParserOptions = {}, stderr = "") {
  return parseText(createCodexParser(opts), stdout, stderr);
}
