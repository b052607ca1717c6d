import type { AppRouter } from "@gigafactory/coordinator";
import {
  type CreateTRPCClient,
  type HTTPBatchLinkOptions,
  createTRPCClient,
  createWSClient,
  httpBatchLink,
  splitLink,
  wsLink,
} from "@trpc/client";
import superjson from "superjson";
import WebSocket from "ws";

export type { AppRouter };

/**
 * The longest URL of one batched GET. Node's HTTP server refuses a request whose head (request
 * line and headers) passes 16 KiB (`--max-http-header-size`), answering 431 with no body; this
 * leaves room for the headers. A single call longer than this fails on the client.
 */
export const MAX_URL_LENGTH = 14_000;

/**
 * The largest input sent over the WebSocket with `transport: "websocket"`; a larger one goes over
 * HTTP. The coordinator closes a socket whose message passes its limit (1 MiB by default).
 */
export const MAX_SOCKET_INPUT_BYTES = 256 * 1024;

/** The most calls in one HTTP batch (queries or mutations); the coordinator refuses a batch over 100. */
export const MAX_BATCH_ITEMS = 50;

/**
 * superjson without its reference annotations: the coordinator refuses inputs that carry
 * `meta.referentialEqualities` (they let a tiny body name a huge shared graph). Without
 * `dedupe`, superjson writes every repeated object out in full, so dropping them loses nothing
 * but object identity.
 */
const transformer = {
  serialize(value: unknown) {
    const result = superjson.serialize(value);
    if (result.meta?.referentialEqualities === undefined) return result;
    const { referentialEqualities: _dropped, ...meta } = result.meta;
    return Object.keys(meta).length ? { json: result.json, meta } : { json: result.json };
  },
  deserialize: superjson.deserialize,
};

export interface GigafactoryClientOptions {
  /** The coordinator's base URL, e.g. `http://127.0.0.1:7700`. */
  url: string;
  /** A bearer token (`gf token create`). */
  token: string;
  /**
   * Keep the WebSocket closed until a subscription needs it, and close it when idle.
   * @default true
   */
  lazyWebSocket?: boolean;
  /**
   * The `fetch` queries and mutations use (tRPC's `HTTPBatchLinkOptions["fetch"]`); the global
   * one by default. A daemon can pass a lighter one (the factory's over `node:http`).
   */
  fetch?: HTTPBatchLinkOptions<AppRouter["_def"]["_config"]["$types"]>["fetch"];
  /**
   * Where queries and mutations go. `http` (the default): batched HTTP requests. `websocket`: on
   * the client's WebSocket while it is open (a daemon that keeps one open anyway makes its calls
   * without a request each), else, and for an input over {@link MAX_SOCKET_INPUT_BYTES}, over HTTP:
   * a call never waits for a socket to come back (it fails as HTTP would, and is retried by its
   * caller), and a proxy that refuses WebSockets still gets every call through.
   * @default "http"
   */
  transport?: "http" | "websocket";
}

export type GigafactoryTRPC = CreateTRPCClient<AppRouter>;

export interface GigafactoryClient {
  /** Every procedure, typed from the coordinator's router. */
  trpc: GigafactoryTRPC;
  url: string;
  /** Closes the WebSocket; HTTP calls need no cleanup. */
  close(): Promise<void>;
  /** Authorization header for the plain HTTP routes (artifact bytes). */
  authHeader(): { authorization: string };
}

/** Whether an input is small enough for the socket (its JSON; superjson adds little). */
function fitsSocket(input: unknown): boolean {
  try {
    return Buffer.byteLength(JSON.stringify(input) ?? "") <= MAX_SOCKET_INPUT_BYTES;
  } catch {
    return false;
  }
}

/** A typed client: HTTP batching for queries and mutations, a WebSocket for subscriptions. */
export function createGigafactoryClient(opts: GigafactoryClientOptions): GigafactoryClient {
  const base = opts.url.replace(/\/+$/, "");
  const authHeader = () => ({ authorization: `Bearer ${opts.token}` });
  const wsClient = createWSClient({
    url: base.replace(/^http/, "ws"),
    connectionParams: { token: opts.token },
    // Node 20 has no global WebSocket; `ws` implements the same interface
    WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
    retryDelayMs: (attempt) => Math.min(10_000, 250 * 2 ** attempt),
    lazy: { enabled: opts.lazyWebSocket ?? true, closeMs: 30_000 },
    keepAlive: { enabled: true, intervalMs: 15_000, pongTimeoutMs: 5_000 },
  });
  const trpc = createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) =>
          op.type === "subscription" ||
          (opts.transport === "websocket" &&
            wsClient.connectionState.get().state === "pending" &&
            fitsSocket(op.input)),
        true: wsLink({ client: wsClient, transformer }),
        false: httpBatchLink({
          url: base,
          transformer,
          headers: authHeader,
          // a fan-out (Promise.all over hundreds of queries) becomes several GETs, each within
          // the request-head size a Node server accepts (16 KiB, headers included) and the
          // coordinator's batch cap (100)
          maxURLLength: MAX_URL_LENGTH,
          maxItems: MAX_BATCH_ITEMS,
          ...(opts.fetch ? { fetch: opts.fetch } : {}),
        }),
      }),
    ],
  });
  return {
    trpc,
    url: base,
    close: async () => {
      await wsClient.close();
    },
    authHeader,
  };
}
