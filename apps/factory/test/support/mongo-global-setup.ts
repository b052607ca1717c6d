import { mongoOptionsFromEnv, startMongo } from "@gigafactory/devdb";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    /** The MongoDB every test file of this run shares (each coordinator gets its own database). */
    mongoUrl: string;
  }
}

/**
 * vitest globalSetup: one MongoDB for the whole run, picked the way `gf up` picks it
 * (GF_MONGO_URL, else mongod, else the Java stand-in).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const mongo = await startMongo(mongoOptionsFromEnv());
  // Test support, not library code: say once which database the run uses.
  console.info(`[gigafactory] MongoDB for factory tests: ${mongo.describe()}`);
  project.provide("mongoUrl", mongo.url);
  return () => mongo.stop();
}
