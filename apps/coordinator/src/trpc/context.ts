import type { CreateHTTPContextOptions } from "@trpc/server/adapters/standalone";
import type { CreateWSSContextFnOptions } from "@trpc/server/adapters/ws";
import type { Logger } from "../logger.js";
import { type Principal, bearerToken } from "../modules/auth/tokens.js";
import type { TimingOptions } from "../options.js";
import type { Services } from "../services.js";

export interface Context {
  principal: Principal | null;
  services: Services;
  logger: Logger;
  /** The coordinator's timing rules; the streams read theirs from here. */
  options: TimingOptions;
}

/** Bearer token from the HTTP header, or `connectionParams.token` on a WebSocket. */
export function tokenFrom(opts: CreateHTTPContextOptions | CreateWSSContextFnOptions): string | undefined {
  const params = opts.info.connectionParams;
  if (params?.token) return params.token;
  return bearerToken(opts.req.headers.authorization);
}

export function contextFactory({ services, logger, options }: Omit<Context, "principal">) {
  return async (opts: CreateHTTPContextOptions | CreateWSSContextFnOptions): Promise<Context> => ({
    principal: await services.tokens.verify(tokenFrom(opts)),
    services,
    logger,
    options,
  });
}
