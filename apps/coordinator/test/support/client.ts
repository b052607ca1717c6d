import {
  type CreateTRPCClient,
  TRPCClientError,
  createTRPCClient,
  createWSClient,
  httpBatchLink,
  splitLink,
  wsLink,
} from "@trpc/client";
import superjson from "superjson";
import WebSocket from "ws";
import { serializeWithoutReferences } from "../../src/trpc/transformer.js";
import type { AppRouter } from "../../src/trpc/router.js";

export type Trpc = CreateTRPCClient<AppRouter>;
export type ClientError = TRPCClientError<AppRouter>;

/** As the SDK's: superjson without reference annotations (the coordinator refuses them). */
const transformer = { serialize: serializeWithoutReferences, deserialize: superjson.deserialize };

export interface TestClient {
  trpc: Trpc;
  url: string;
  /** The bearer token the client sends (undefined: none). */
  token: string | undefined;
  /** Closes the WebSocket; HTTP calls need no cleanup. Idempotent. */
  close(): Promise<void>;
  /** Settles once the WebSocket is open (with `transport: "websocket"`, calls then go on it). */
  ready(): Promise<void>;
  /** `await using client = createClient(…)`: closes it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * The real tRPC client, wired the way the SDK wires it: subscriptions over a WebSocket
 * (`connectionParams.token`), everything else over batched HTTP (`Authorization: Bearer`).
 */
export function createClient(opts: {
  url: string;
  token?: string | undefined;
  /** As the SDK's option: `websocket` sends calls on the socket while it is open (the daemon's way). */
  transport?: "http" | "websocket";
}): TestClient {
  const wsClient = createWSClient({
    url: opts.url.replace(/^http/, "ws"),
    connectionParams: opts.token ? { token: opts.token } : {},
    // Node 20 has no global WebSocket; `ws` implements the same interface
    WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
    lazy: { enabled: opts.transport !== "websocket", closeMs: 0 },
    retryDelayMs: () => 100,
  });
  const trpc = createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) =>
          op.type === "subscription" ||
          (opts.transport === "websocket" && wsClient.connectionState.get().state === "pending"),
        true: wsLink({ client: wsClient, transformer }),
        false: httpBatchLink({
          url: opts.url,
          transformer,
          // the coordinator answers a batch over its cap (100) with 400
          maxItems: 50,
          headers: () => (opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
        }),
      }),
    ],
  });
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= wsClient.close();
    return closed;
  };
  const ready = () =>
    new Promise<void>((resolve) => {
      const subscription = wsClient.connectionState.subscribe({
        next: (state) => {
          if (state.state !== "pending") return;
          queueMicrotask(() => subscription.unsubscribe());
          resolve();
        },
      });
    });
  return { trpc, url: opts.url, token: opts.token, close, ready, [Symbol.asyncDispose]: close };
}

/** The tRPC error a call was rejected with; fails the test when it resolved instead. */
export async function rejection(call: Promise<unknown>): Promise<ClientError> {
  try {
    const value = await call;
    throw new Error(`expected the call to be rejected, but it returned ${JSON.stringify(value)?.slice(0, 300)}`);
  } catch (error) {
    if (error instanceof TRPCClientError) return error as ClientError;
    throw error;
  }
}

/** `code` and `reason` of a rejected call, for compact assertions. */
export function codeOf(error: ClientError): { code: string | undefined; reason: unknown } {
  const data = error.data as { code?: string; reason?: unknown } | undefined;
  return { code: data?.code, reason: data?.reason };
}
