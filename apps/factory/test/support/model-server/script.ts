/**
 * What a scripted model server answers, turn by turn. A test lists the replies the agent's
 * main loop gets, in order; the server speaks the real wire protocol (Anthropic Messages or
 * OpenAI Responses) around them, so the real CLI parses them as it would the real API's.
 */

/** Token figures the server reports for one reply, as the real APIs count them. */
export interface ScriptUsage {
  /** Prompt tokens not read from a cache (Anthropic: `input_tokens`; OpenAI: input minus cached). */
  input: number;
  output: number;
  /** Prompt tokens read from a cache. */
  cached?: number;
  /** Anthropic only: prompt tokens written to the cache. */
  cacheWrite?: number;
}

/** A tool call the model makes: the CLI's own tool name and input (e.g. Claude Code's `Write`). */
export interface ScriptToolCall {
  name: string;
  input: Record<string, unknown>;
}

export interface ScriptMessage {
  text?: string;
  toolCalls?: ScriptToolCall[];
  usage?: ScriptUsage;
  /** Milliseconds between streamed chunks; with `chunks`, makes a slow stream (for cancel tests). */
  delayMs?: number;
  /** How many text chunks to stream (default 1). */
  chunks?: number;
  /** Cut the connection after this many SSE events (a stream that dies mid-way). */
  cutAfterEvents?: number;
}

export interface ScriptError {
  error: {
    status: number;
    message: string;
    /** Anthropic error type (`authentication_error`, `rate_limit_error`, `api_error`, …). */
    type?: string;
    /** Seconds, sent as `retry-after`. */
    retryAfter?: number;
  };
  /** Answer this many requests with it (CLIs retry: a lasting outage is several). @default 1 */
  times?: number;
}

export type ScriptReply = ScriptMessage | ScriptError;

export const isError = (reply: ScriptReply): reply is ScriptError => "error" in reply;

/** One request as the server received it, for assertions on what the engine sent. */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  /** Whether it was a main-loop request (answered from the script) or a side request. */
  scripted: boolean;
}

/** The reply once the script is used up: a plain closing message. */
export const FINAL_REPLY: ScriptMessage = { text: "Done.", usage: { input: 1, output: 1 } };
