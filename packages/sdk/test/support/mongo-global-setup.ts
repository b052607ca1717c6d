import { mongoOptionsFromEnv, startMongo } from "@gigafactory/devdb";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    /** The MongoDB every test file of this run shares (one database per file). */
    mongoUrl: string;
  }
}

/** vitest globalSetup: one MongoDB for the run, picked the way `gf up` picks it. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const mongo = await startMongo(mongoOptionsFromEnv());
  console.info(`[gigafactory sdk] MongoDB for tests: ${mongo.describe()}`);
  project.provide("mongoUrl", mongo.url);
  return () => mongo.stop();
}
