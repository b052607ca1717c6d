import type { Agent, ClientRequest, IncomingMessage, RequestOptions } from "node:http";

/**
 * The factory's HTTP calls (tRPC queries and mutations, artifact uploads) over `node:http`, not
 * Node's global `fetch`: loading `fetch` (undici) costs a daemon about 9 MB of memory for good,
 * and all the factory sends is small JSON calls and one body per artifact to one host. It does
 * what those calls need of `fetch` and no more: a string or bytes body, headers, an abort
 * signal, and an answer read whole (`json()`, `text()`). Connections are kept alive.
 */
export interface HttpAnswer {
  ok: boolean;
  status: number;
  statusText: string;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
  json(): Promise<unknown>;
}

/** What the factory's calls pass: tRPC's (a plain header object, a string body) and the uploads' (bytes). */
export interface HttpCall {
  method?: string;
  headers?: RequestInit["headers"];
  body?: RequestInit["body"];
  signal?: AbortSignal | null;
}

type Transport = {
  agent: Agent;
  request: (url: URL, options: RequestOptions, callback: (res: IncomingMessage) => void) => ClientRequest;
};

const transports = new Map<string, Promise<Transport>>();

/** `node:http` or `node:https` (loaded only for an https coordinator), each with a keep-alive agent. */
function transportFor(protocol: string): Promise<Transport> {
  let transport = transports.get(protocol);
  if (!transport) {
    if (protocol !== "http:" && protocol !== "https:") throw new TypeError(`unsupported protocol ${protocol}`);
    transport = (protocol === "https:" ? import("node:https") : import("node:http")).then((module) => ({
      agent: new module.Agent({ keepAlive: true }),
      request: module.request,
    }));
    transports.set(protocol, transport);
  }
  return transport;
}

/** `fetch(url, init)` for the calls above; rejects as `fetch` does: on a network error or an abort. */
export async function httpFetch(input: string | URL | Request, init: HttpCall = {}): Promise<HttpAnswer> {
  if (typeof input !== "string" && !(input instanceof URL)) throw new TypeError("httpFetch takes a URL, not a Request");
  const url = new URL(input);
  const body = bodyOf(init.body);
  const { agent, request } = await transportFor(url.protocol);
  const signal = init.signal ?? undefined;
  signal?.throwIfAborted();
  return new Promise<HttpAnswer>((resolve, reject) => {
    const req = request(
      url,
      { method: init.method ?? "GET", headers: headersOf(init.headers), agent, ...(signal ? { signal } : {}) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("error", reject);
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          const status = res.statusCode ?? 0;
          resolve({
            ok: status >= 200 && status < 300,
            status,
            statusText: res.statusMessage ?? "",
            headers: {
              get: (name) => {
                const value = res.headers[name.toLowerCase()];
                return value === undefined ? null : Array.isArray(value) ? value.join(", ") : value;
              },
            },
            text: async () => text,
            json: async () => JSON.parse(text) as unknown,
          });
        });
      },
    );
    // an abort rejects with the signal's reason (a TimeoutError for AbortSignal.timeout), as fetch does
    req.on("error", (error) => reject(signal?.aborted ? signal.reason : error));
    req.end(body);
  });
}

function headersOf(headers: HttpCall["headers"]): Record<string, string> {
  if (headers === undefined) return {};
  if (Array.isArray(headers)) return Object.fromEntries(headers.map(([name = "", value = ""]) => [name, value]));
  if (typeof (headers as Headers).forEach === "function") {
    const plain: Record<string, string> = {};
    (headers as Headers).forEach((value, name) => {
      plain[name] = value;
    });
    return plain;
  }
  return { ...(headers as Record<string, string>) };
}

function bodyOf(body: HttpCall["body"]): string | Uint8Array | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === "string" || body instanceof Uint8Array) return body;
  throw new TypeError("httpFetch sends a string or bytes body only");
}
