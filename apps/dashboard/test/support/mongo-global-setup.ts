import { mongoGlobalSetup, type ProvidedMongo } from "@gigafactory/devdb/testing";

declare module "vitest" {
  /** `mongoUrl` and `mongoBackend`: the MongoDB every test file of this run shares. */
  export interface ProvidedContext extends ProvidedMongo {}
}

/** vitest globalSetup: one MongoDB for the whole run, picked the way `gf up` picks it. */
export default mongoGlobalSetup("dashboard");
