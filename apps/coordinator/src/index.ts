export type { AppRouter } from "./trpc/router.js";
export { Coordinator, type CoordinatorOptions } from "./server.js";
export { Env, readEnv } from "./env.js";
export { createLogger } from "./logger.js";
