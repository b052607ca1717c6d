import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface ScriptedItem {
  id: string;
  title: string;
  description: string;
  labels: string[];
  status: string;
  productId: string;
}

/**
 * A loopback stand-in for the predecessor's Items API (seed 001): bearer auth, `GET /items/:id`,
 * `PATCH /items/:id`, `POST /items/:id/comments`; records every call it receives, and answers
 * scripted failures (`failNext`).
 */
export class ScriptedItems {
  readonly items = new Map<string, ScriptedItem>();
  readonly calls: Array<{ method: string; path: string; body: unknown; authorized: boolean }> = [];
  private failures: number[] = [];
  private server: Server | undefined;
  url = "";

  constructor(readonly token: string) {}

  static async start(token: string): Promise<ScriptedItems> {
    const api = new ScriptedItems(token);
    api.server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const text = Buffer.concat(chunks).toString("utf8");
      const body = text ? (JSON.parse(text) as unknown) : undefined;
      const authorized = req.headers.authorization === `Bearer ${api.token}`;
      const path = new URL(req.url ?? "/", "http://127.0.0.1").pathname;
      api.calls.push({ method: req.method ?? "", path, body, authorized });
      const send = (status: number, payload?: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(payload === undefined ? "" : JSON.stringify(payload));
      };
      if (!authorized) return send(401, { error: "unauthorized" });
      const failure = api.failures.shift();
      if (failure) return send(failure, { error: "scripted failure" });
      const match = /^\/items\/([^/]+)(\/comments)?$/.exec(path);
      const item = match?.[1] ? api.items.get(decodeURIComponent(match[1])) : undefined;
      if (!item) return send(404, { error: "item not found" });
      if (req.method === "GET" && !match?.[2]) return send(200, item);
      if (req.method === "PATCH" && !match?.[2]) {
        Object.assign(item, body);
        return send(200, item);
      }
      if (req.method === "POST" && match?.[2]) return send(201, { id: String(api.calls.length), ...(body as object) });
      return send(405, { error: "method not allowed" });
    });
    await new Promise<void>((resolve) => api.server?.listen(0, "127.0.0.1", resolve));
    api.url = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;
    return api;
  }

  /** The next `times` calls are answered `status`. */
  failNext(status: number, times = 1): void {
    this.failures.push(...Array(times).fill(status));
  }

  writes(): Array<{ method: string; path: string; body: unknown }> {
    return this.calls.filter((call) => call.method !== "GET");
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
