import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { FINAL_REPLY, isError, type RecordedRequest, type ScriptReply } from "./script.js";

/** The protocol part of a scripted server: which requests are main-loop turns and how to answer. */
export interface Dialect {
  /** Whether this request belongs to the agent's main loop (answered from the script). */
  isScripted(path: string, body: unknown): boolean;
  /** Answers a scripted request with one reply. */
  reply(res: ServerResponse, reply: ScriptReply, turn: number, body: unknown): Promise<void>;
  /** Answers anything else (side requests a CLI makes: titles, counting, model lists). */
  other(req: IncomingMessage, res: ServerResponse, body: unknown): void;
}

/** A model API on 127.0.0.1 that plays a script and records every request. */
export class ScriptedModelServer {
  readonly requests: RecordedRequest[] = [];
  private readonly queue: ScriptReply[];
  private turns = 0;
  private readonly server: Server;
  private readonly sockets = new Set<import("node:net").Socket>();

  private constructor(
    private readonly dialect: Dialect,
    script: readonly ScriptReply[],
  ) {
    this.queue = [...script];
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
  }

  static async start(dialect: Dialect, script: readonly ScriptReply[]): Promise<ScriptedModelServer> {
    const server = new ScriptedModelServer(dialect, script);
    await new Promise<void>((resolve) => server.server.listen(0, "127.0.0.1", resolve));
    return server;
  }

  get url(): string {
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  /** The main-loop requests, in order. */
  get scripted(): RecordedRequest[] {
    return this.requests.filter((r) => r.scripted);
  }

  /** Replies still unplayed. */
  get remaining(): number {
    return this.queue.length;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    let body: unknown = text;
    try {
      body = text === "" ? undefined : JSON.parse(text);
    } catch {
      // kept as text
    }
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const scripted = req.method === "POST" && this.dialect.isScripted(path, body);
    this.requests.push({ method: req.method ?? "GET", path, headers: req.headers, body, scripted });
    try {
      if (!scripted) return this.dialect.other(req, res, body);
      const next = this.queue[0];
      const reply = next ?? FINAL_REPLY;
      if (next && isError(next) && (next.times ?? 1) > 1) this.queue[0] = { ...next, times: (next.times ?? 1) - 1 };
      else this.queue.shift();
      this.turns++;
      await this.dialect.reply(res, reply, this.turns, body);
    } catch {
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    }
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Writes server-sent events, honouring a script's delay and cut. */
export class SseWriter {
  private written = 0;
  constructor(
    private readonly res: ServerResponse,
    private readonly opts: { delayMs?: number; cutAfterEvents?: number },
  ) {
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
  }

  /** Sends one event; false once the stream was cut (the caller stops). */
  async send(event: string, data: unknown): Promise<boolean> {
    if (this.opts.cutAfterEvents !== undefined && this.written >= this.opts.cutAfterEvents) {
      this.res.destroy();
      return false;
    }
    if (this.res.destroyed) return false;
    this.res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    this.written++;
    if (this.opts.delayMs) await new Promise((resolve) => setTimeout(resolve, this.opts.delayMs));
    return true;
  }

  end(): void {
    if (!this.res.destroyed) this.res.end();
  }
}

/** Splits text into `n` roughly equal chunks. */
export function chunked(text: string, n = 1): string[] {
  if (n <= 1 || text.length <= 1) return [text];
  const size = Math.ceil(text.length / n);
  const parts: string[] = [];
  for (let i = 0; i < text.length; i += size) parts.push(text.slice(i, i + size));
  return parts;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}
