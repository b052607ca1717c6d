import type { CreateHTTPContextOptions } from "@trpc/server/adapters/standalone";
import type { CreateWSSContextFnOptions } from "@trpc/server/adapters/ws";
import { WebSocket } from "ws";
import { markAuthenticated } from "../http/websocket.js";
import type { Logger } from "../logger.js";
import { type Principal, bearerToken } from "../modules/auth/tokens.js";
import type { TimingOptions } from "../options.js";
import type { Services } from "../services.js";

/** One WebSocket's state, shared by every call on it (the context is made once per socket). */
export interface Connection {
  /** Subscriptions open on this socket now; at most `limits.wsMaxSubscriptions`. */
  subscriptions: number;
}

export interface Context {
  principal: Principal | null;
  services: Services;
  logger: Logger;
  /** The coordinator's timing rules; the streams read theirs from here. */
  options: TimingOptions;
  /** Set on WebSocket calls only. */
  connection?: Connection;
}

/**
 * Bearer token from the HTTP header, or `connectionParams.token` on a WebSocket. Never from the
 * URL: tRPC would read HTTP `?connectionParams=` too, so those are ignored over HTTP.
 */
export function tokenFrom(opts: CreateHTTPContextOptions | CreateWSSContextFnOptions): string | undefined {
  const params = isWebSocket(opts) ? opts.info.connectionParams : null;
  if (params?.token) return params.token;
  return bearerToken(opts.req.headers.authorization);
}

function isWebSocket(opts: CreateHTTPContextOptions | CreateWSSContextFnOptions): opts is CreateWSSContextFnOptions {
  return opts.res instanceof WebSocket;
}

export function contextFactory({ services, logger, options }: Omit<Context, "principal" | "connection">) {
  return async (opts: CreateHTTPContextOptions | CreateWSSContextFnOptions): Promise<Context> => {
    const principal = await services.tokens.verify(tokenFrom(opts));
    if (!isWebSocket(opts)) return { principal, services, logger, options };
    if (principal) markAuthenticated(opts.res, principal.tokenId);
    return { principal, services, logger, options, connection: { subscriptions: 0 } };
  };
}
