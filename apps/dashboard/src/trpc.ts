import type { AppRouter } from "@gigafactory/coordinator";
import { type TRPCClient, createTRPCClient, createWSClient, httpBatchLink, splitLink, wsLink } from "@trpc/client";
import superjson from "superjson";

export type { AppRouter };
export type Trpc = TRPCClient<AppRouter>;

/**
 * superjson without reference annotations: the coordinator refuses inputs carrying
 * `meta.referentialEqualities` (see packages/sdk/src/client.ts, which does the same).
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

export type SocketState = { state: "connecting" | "open" | "closed"; retries: number };

/** The coordinator is the page's own origin; in `vite dev` the socket goes through its `/ws` proxy. */
function socketUrl(): string {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  return `${proto}//${location.host}${import.meta.env.DEV ? "/ws" : "/"}`;
}

/**
 * One client per signed-in token: HTTP batches for queries and mutations, the WebSocket for
 * subscriptions (the token in its connection params, never in a URL).
 */
export function createClient(token: string, onSocket: (state: SocketState) => void) {
  let retries = 0;
  const wsClient = createWSClient({
    url: socketUrl(),
    connectionParams: { token },
    retryDelayMs: (attempt) => Math.min(10_000, 250 * 2 ** attempt),
    keepAlive: { enabled: true, intervalMs: 15_000, pongTimeoutMs: 5_000 },
    onOpen: () => {
      retries = 0;
      onSocket({ state: "open", retries });
    },
    onClose: () => {
      retries++;
      onSocket({ state: "closed", retries });
    },
  });
  const trpc: Trpc = createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === "subscription",
        true: wsLink({ client: wsClient, transformer }),
        false: httpBatchLink({
          url: location.origin,
          transformer,
          headers: () => ({ authorization: `Bearer ${token}` }),
          maxItems: 50,
        }),
      }),
    ],
  });
  return { trpc, close: () => wsClient.close() };
}
