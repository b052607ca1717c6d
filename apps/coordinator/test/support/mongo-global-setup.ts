import type { TestProject } from "vitest/node";
import { mongoOptionsFromEnv, startMongo } from "@gigafactory/devdb";

declare module "vitest" {
  export interface ProvidedContext {
    /** The MongoDB every test file of this run shares (one database per file). */
    mongoUrl: string;
    /** Which backend that is: `external` (GF_MONGO_URL), `mongod` or `stand-in`. */
    mongoBackend: "external" | "mongod" | "stand-in";
  }
}

/**
 * vitest globalSetup: one MongoDB for the whole run, picked the way `gf up`
 * picks it (GF_MONGO_URL, else mongod, else the Java stand-in).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const mongo = await startMongo(mongoOptionsFromEnv());
  // Test support, not library code: say once which database the run uses.
  console.info(`[gigafactory] MongoDB for tests: ${mongo.describe()}`);
  project.provide("mongoUrl", mongo.url);
  project.provide("mongoBackend", mongo.backend);
  return () => mongo.stop();
}
