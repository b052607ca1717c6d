import type { IncomingMessage, ServerResponse } from "node:http";
import { isError, type ScriptMessage, type ScriptReply } from "./script.js";
import { chunked, type Dialect, ScriptedModelServer, SseWriter, sendJson } from "./server.js";

/**
 * The OpenAI Responses API (`POST /v1/responses`, streamed: response.created, output items
 * added/done, output_text deltas, response.completed with usage) and, for tools that speak the
 * older protocol, Chat Completions (`POST /v1/chat/completions`, streamed chunks with a final
 * usage chunk). Every request that offers tools is a main-loop turn; the rest get a short text.
 * Tool calls are function calls: `name` is the CLI's tool (Codex: `shell` or `exec_command`),
 * `input` its JSON arguments.
 */
export const openaiDialect: Dialect = {
  isScripted(path, body) {
    if (path !== "/v1/responses" && path !== "/v1/chat/completions") return false;
    const tools = (body as { tools?: unknown[] } | undefined)?.tools;
    return Array.isArray(tools) && tools.length > 0;
  },

  async reply(res, reply, turn, body) {
    if (isError(reply)) {
      const { status, message, type, retryAfter } = reply.error;
      const headers: Record<string, string> = retryAfter === undefined ? {} : { "retry-after": String(retryAfter) };
      const code = status === 401 ? "invalid_api_key" : status === 429 ? "rate_limit_exceeded" : "server_error";
      sendJson(res, status, { error: { message, type: type ?? code, param: null, code } }, headers);
      return;
    }
    const model = (body as { model?: string }).model ?? "gpt-5";
    if ((body as { messages?: unknown }).messages !== undefined) {
      if ((body as { stream?: boolean }).stream !== true) return chatCompletionJson(res, reply, turn, model);
      return chatCompletion(res, reply, turn, model);
    }
    return responses(res, reply, turn, model);
  },

  other(req: IncomingMessage, res: ServerResponse, body: unknown) {
    const path = (req.url ?? "").split("?")[0] ?? "";
    if (req.method === "GET" && path.startsWith("/v1/models")) return sendJson(res, 200, { object: "list", data: [] });
    if (req.method === "POST" && (path === "/v1/responses" || path === "/v1/chat/completions")) {
      const model = (body as { model?: string } | undefined)?.model ?? "gpt-5";
      const reply: ScriptMessage = { text: "ok", usage: { input: 0, output: 0 } };
      if (path === "/v1/chat/completions") return void chatCompletion(res, reply, 0, model);
      return void responses(res, reply, 0, model);
    }
    sendJson(res, 404, { error: { message: `no ${req.method} ${path}`, type: "invalid_request_error" } });
  },
};

async function responses(res: ServerResponse, reply: ScriptMessage, turn: number, model: string): Promise<void> {
  const sse = new SseWriter(res, reply);
  const id = `resp_scripted_${turn}`;
  const base = { id, object: "response", created_at: 1_700_000_000, model, status: "in_progress", output: [] };
  if (!(await sse.send("response.created", { type: "response.created", response: base }))) return;
  const output: unknown[] = [];
  let index = 0;
  if (reply.text !== undefined) {
    const itemId = `msg_scripted_${turn}`;
    const item = { type: "message", id: itemId, role: "assistant", status: "in_progress", content: [] };
    if (
      !(await sse.send("response.output_item.added", { type: "response.output_item.added", output_index: index, item }))
    )
      return;
    for (const delta of chunked(reply.text, reply.chunks)) {
      const event = {
        type: "response.output_text.delta",
        item_id: itemId,
        output_index: index,
        content_index: 0,
        delta,
      };
      if (!(await sse.send("response.output_text.delta", event))) return;
    }
    const done = {
      ...item,
      status: "completed",
      content: [{ type: "output_text", text: reply.text, annotations: [] }],
    };
    if (
      !(await sse.send("response.output_item.done", {
        type: "response.output_item.done",
        output_index: index,
        item: done,
      }))
    )
      return;
    output.push(done);
    index++;
  }
  for (const [i, call] of (reply.toolCalls ?? []).entries()) {
    const item = {
      type: "function_call",
      id: `fc_scripted_${turn}_${i}`,
      call_id: `call_scripted_${turn}_${i}`,
      name: call.name,
      arguments: JSON.stringify(call.input),
      status: "completed",
    };
    if (
      !(await sse.send("response.output_item.added", { type: "response.output_item.added", output_index: index, item }))
    )
      return;
    if (
      !(await sse.send("response.output_item.done", { type: "response.output_item.done", output_index: index, item }))
    )
      return;
    output.push(item);
    index++;
  }
  const usage = reply.usage ?? { input: 0, output: 0 };
  const completed = {
    ...base,
    status: "completed",
    output,
    usage: {
      input_tokens: usage.input + (usage.cached ?? 0),
      input_tokens_details: { cached_tokens: usage.cached ?? 0 },
      output_tokens: usage.output,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: usage.input + (usage.cached ?? 0) + usage.output,
    },
  };
  if (!(await sse.send("response.completed", { type: "response.completed", response: completed }))) return;
  sse.end();
}

async function chatCompletion(res: ServerResponse, reply: ScriptMessage, turn: number, model: string): Promise<void> {
  const sse = new SseWriter(res, reply);
  const chunk = (delta: unknown, finish: string | null, usage?: unknown) => ({
    id: `chatcmpl-scripted-${turn}`,
    object: "chat.completion.chunk",
    created: 1_700_000_000,
    model,
    choices: usage ? [] : [{ index: 0, delta, finish_reason: finish }],
    ...(usage ? { usage } : {}),
  });
  const send = (data: unknown) => sse.send("message", data);
  if (!(await send(chunk({ role: "assistant", content: "" }, null)))) return;
  for (const part of chunked(reply.text ?? "", reply.chunks)) {
    if (part !== "" && !(await send(chunk({ content: part }, null)))) return;
  }
  const calls = (reply.toolCalls ?? []).map((call, i) => ({
    index: i,
    id: `call_scripted_${turn}_${i}`,
    type: "function",
    function: { name: call.name, arguments: JSON.stringify(call.input) },
  }));
  if (calls.length > 0 && !(await send(chunk({ tool_calls: calls }, null)))) return;
  if (!(await send(chunk({}, calls.length > 0 ? "tool_calls" : "stop")))) return;
  const usage = reply.usage ?? { input: 0, output: 0 };
  const total = usage.input + (usage.cached ?? 0);
  const figures = {
    prompt_tokens: total,
    completion_tokens: usage.output,
    total_tokens: total + usage.output,
    prompt_tokens_details: { cached_tokens: usage.cached ?? 0 },
  };
  if (!(await send(chunk({}, null, figures)))) return;
  res.write("data: [DONE]\n\n");
  sse.end();
}

/**
 * For tools that edit through text (Aider's SEARCH/REPLACE blocks) and offer no tools: every
 * Chat Completions request is a main-loop turn.
 */
export const openaiTextDialect: Dialect = {
  ...openaiDialect,
  isScripted: (path) => path === "/v1/chat/completions",
};

function chatCompletionJson(res: ServerResponse, reply: ScriptMessage, turn: number, model: string): void {
  const usage = reply.usage ?? { input: 0, output: 0 };
  const total = usage.input + (usage.cached ?? 0);
  const calls = (reply.toolCalls ?? []).map((call, i) => ({
    id: `call_scripted_${turn}_${i}`,
    type: "function",
    function: { name: call.name, arguments: JSON.stringify(call.input) },
  }));
  sendJson(res, 200, {
    id: `chatcmpl-scripted-${turn}`,
    object: "chat.completion",
    created: 1_700_000_000,
    model,
    choices: [
      {
        index: 0,
        message: { role: "assistant", content: reply.text ?? null, ...(calls.length > 0 ? { tool_calls: calls } : {}) },
        finish_reason: calls.length > 0 ? "tool_calls" : "stop",
      },
    ],
    usage: {
      prompt_tokens: total,
      completion_tokens: usage.output,
      total_tokens: total + usage.output,
      prompt_tokens_details: { cached_tokens: usage.cached ?? 0 },
    },
  });
}

export const startOpenAiServer = (script: readonly ScriptReply[]) => ScriptedModelServer.start(openaiDialect, script);
export const startOpenAiTextServer = (script: readonly ScriptReply[]) =>
  ScriptedModelServer.start(openaiTextDialect, script);
