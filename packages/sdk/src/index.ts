export {
  createGigafactoryClient,
  type GigafactoryClient,
  type GigafactoryClientOptions,
  type GigafactoryTRPC,
  type AppRouter,
} from "./client.js";
export * from "./jobfile/index.js";
export * from "./helpers/index.js";
