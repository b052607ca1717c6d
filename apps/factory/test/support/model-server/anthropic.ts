import type { IncomingMessage, ServerResponse } from "node:http";
import { isError, type ScriptReply } from "./script.js";
import { chunked, type Dialect, ScriptedModelServer, SseWriter, sendJson } from "./server.js";

/**
 * The Anthropic Messages API (`POST /v1/messages`, streamed as the real API streams it:
 * message_start, content_block_start/delta/stop, message_delta, message_stop). Main-loop
 * requests are the ones that offer tools; Claude Code's side requests (titles, topic checks)
 * offer none and get a short text answer without usage.
 */
export const anthropicDialect: Dialect = {
  isScripted(path, body) {
    if (path !== "/v1/messages") return false;
    const tools = (body as { tools?: unknown[] } | undefined)?.tools;
    return Array.isArray(tools) && tools.length > 0;
  },

  async reply(res, reply, turn, body) {
    if (isError(reply)) {
      const { status, message, type, retryAfter } = reply.error;
      const headers: Record<string, string> = retryAfter === undefined ? {} : { "retry-after": String(retryAfter) };
      sendJson(res, status, { type: "error", error: { type: type ?? errorType(status), message } }, headers);
      return;
    }
    const model = (body as { model?: string }).model ?? "claude-sonnet-4-5";
    const usage = reply.usage ?? { input: 0, output: 0 };
    const sse = new SseWriter(res, reply);
    const toolCalls = reply.toolCalls ?? [];
    const ok = await sse.send("message_start", {
      type: "message_start",
      message: {
        id: `msg_scripted_${turn}`,
        type: "message",
        role: "assistant",
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: {
          input_tokens: usage.input,
          cache_creation_input_tokens: usage.cacheWrite ?? 0,
          cache_read_input_tokens: usage.cached ?? 0,
          output_tokens: 1,
        },
      },
    });
    if (!ok) return;
    let index = 0;
    if (reply.text !== undefined) {
      if (
        !(await sse.send("content_block_start", {
          type: "content_block_start",
          index,
          content_block: { type: "text", text: "" },
        }))
      )
        return;
      for (const part of chunked(reply.text, reply.chunks)) {
        const delta = { type: "content_block_delta", index, delta: { type: "text_delta", text: part } };
        if (!(await sse.send("content_block_delta", delta))) return;
      }
      if (!(await sse.send("content_block_stop", { type: "content_block_stop", index }))) return;
      index++;
    }
    const workdir = workingDirectory(body);
    for (const [i, call] of toolCalls.entries()) {
      const block = { type: "tool_use", id: `toolu_scripted_${turn}_${i}`, name: call.name, input: {} };
      if (!(await sse.send("content_block_start", { type: "content_block_start", index, content_block: block })))
        return;
      const input = JSON.stringify(call.input).replaceAll(WORKDIR, workdir ?? WORKDIR);
      const delta = { type: "input_json_delta", partial_json: input };
      if (!(await sse.send("content_block_delta", { type: "content_block_delta", index, delta }))) return;
      if (!(await sse.send("content_block_stop", { type: "content_block_stop", index }))) return;
      index++;
    }
    const stop = toolCalls.length > 0 ? "tool_use" : "end_turn";
    const delta = {
      type: "message_delta",
      delta: { stop_reason: stop, stop_sequence: null },
      usage: { output_tokens: usage.output },
    };
    if (!(await sse.send("message_delta", delta))) return;
    if (!(await sse.send("message_stop", { type: "message_stop" }))) return;
    sse.end();
  },

  other(req: IncomingMessage, res: ServerResponse, body: unknown) {
    const path = (req.url ?? "").split("?")[0];
    if (req.method === "POST" && path === "/v1/messages/count_tokens") return sendJson(res, 200, { input_tokens: 1 });
    if (req.method === "POST" && path === "/v1/messages") {
      const b = body as { model?: string; stream?: boolean };
      const message = {
        id: "msg_side",
        type: "message",
        role: "assistant",
        model: b.model ?? "claude-haiku-4-5",
        content: [{ type: "text", text: "ok" }],
        stop_reason: "end_turn",
        stop_sequence: null,
        usage: { input_tokens: 0, output_tokens: 0 },
      };
      if (!b.stream) return sendJson(res, 200, message);
      const sse = new SseWriter(res, {});
      void (async () => {
        await sse.send("message_start", { type: "message_start", message: { ...message, content: [] } });
        await sse.send("content_block_start", {
          type: "content_block_start",
          index: 0,
          content_block: { type: "text", text: "" },
        });
        await sse.send("content_block_delta", {
          type: "content_block_delta",
          index: 0,
          delta: { type: "text_delta", text: "ok" },
        });
        await sse.send("content_block_stop", { type: "content_block_stop", index: 0 });
        await sse.send("message_delta", {
          type: "message_delta",
          delta: { stop_reason: "end_turn" },
          usage: { output_tokens: 0 },
        });
        await sse.send("message_stop", { type: "message_stop" });
        sse.end();
      })();
      return;
    }
    sendJson(res, 404, { type: "error", error: { type: "not_found_error", message: `no ${req.method} ${path}` } });
  },
};

/** Written in a script's tool input, stands for the engine's working directory (known only once it runs). */
export const WORKDIR = "$WORKDIR";

/** The working directory Claude Code states in its system prompt ("Primary working directory: …"). */
function workingDirectory(body: unknown): string | undefined {
  const text = JSON.stringify((body as { system?: unknown; messages?: unknown }) ?? {});
  return /Primary working directory: ([^\\"]+?)(?:\\n|")/.exec(text)?.[1];
}

function errorType(status: number): string {
  if (status === 401) return "authentication_error";
  if (status === 429) return "rate_limit_error";
  if (status === 529) return "overloaded_error";
  if (status >= 500) return "api_error";
  return "invalid_request_error";
}

export const startAnthropicServer = (script: readonly ScriptReply[]) =>
  ScriptedModelServer.start(anthropicDialect, script);
