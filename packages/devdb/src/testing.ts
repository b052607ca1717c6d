/**
 * Test support shared by every package's tests (`@gigafactory/devdb/testing`): one MongoDB per
 * vitest run, one database per test file. No runtime dependency on vitest: the globalSetup's
 * `project` and the `inject`ed URL come in as plain arguments.
 */
import { type Db, MongoClient } from "mongodb";
import { mongoOptionsFromEnv, startMongo } from "./launcher.js";
import { databaseNameFor } from "./names.js";
import type { MongoBackend, MongoHandle } from "./types.js";

/** A client on the run's shared MongoDB, scoped to a database of its own. */
export interface TestDb {
  client: MongoClient;
  db: Db;
  url: string;
  dbName: string;
  /** Drops the database and closes the client. Idempotent. */
  close(): Promise<void>;
  /** `await using t = await openTestDb(…)`: closes it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Opens a fresh, uniquely named database (named after `label`) on the server at `url` (in a test:
 * `inject("mongoUrl")`). Call once per test file, e.g. in `beforeAll`; close it in `afterAll`.
 */
export async function openTestDb(url: string, label: string): Promise<TestDb> {
  const dbName = databaseNameFor(label);
  const client = new MongoClient(url);
  await client.connect();
  const db = client.db(dbName);
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      try {
        // The stand-in keeps everything in the JVM heap: give it back.
        await db.dropDatabase();
      } finally {
        await client.close();
      }
    })();
    return closing;
  };
  return { client, db, url, dbName, close, [Symbol.asyncDispose]: close };
}

/**
 * One MongoDB for a test run, picked the way `gf up` picks it (GF_MONGO_URL, else mongod, else
 * the Java stand-in); says once, naming `label`, which one it is.
 */
export async function startTestMongo(label: string, env: NodeJS.ProcessEnv = process.env): Promise<MongoHandle> {
  const mongo = await startMongo(mongoOptionsFromEnv(env));
  // Test support, not library code: say once which database the run uses.
  console.info(`[gigafactory ${label}] MongoDB for tests: ${mongo.describe()}`);
  return mongo;
}

/** What a vitest globalSetup gets (vitest's `TestProject`), typed loosely: only `provide` is used. */
export interface MongoProvider {
  provide(key: "mongoUrl" | "mongoBackend", value: string): void;
}

/** The values {@link mongoGlobalSetup} provides; declare them in vitest's `ProvidedContext`. */
export interface ProvidedMongo {
  /** The MongoDB every test file of this run shares (one database per file). */
  mongoUrl: string;
  /** Which backend that is: `external` (GF_MONGO_URL), `mongod` or `stand-in`. */
  mongoBackend: MongoBackend;
}

/**
 * A vitest globalSetup: `export default mongoGlobalSetup("coordinator")`. Starts one MongoDB
 * for the run, provides `mongoUrl` and `mongoBackend`, and stops it at the end.
 */
export function mongoGlobalSetup(label: string): (project: MongoProvider) => Promise<() => Promise<void>> {
  return async (project) => {
    const mongo = await startTestMongo(label);
    project.provide("mongoUrl", mongo.url);
    project.provide("mongoBackend", mongo.backend);
    return () => mongo.stop();
  };
}

/**
 * The vitest `test` options every package with MongoDB tests shares: `src` and `test` test files,
 * the MongoDB globalSetup at `test/support/mongo-global-setup.ts`, forks, and generous timeouts
 * (the first run builds the stand-in with Maven). Plain data, so vitest stays a dev dependency.
 */
export function mongoTestOptions(timeouts: { testTimeout?: number; hookTimeout?: number } = {}) {
  return {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    globalSetup: ["test/support/mongo-global-setup.ts"],
    testTimeout: timeouts.testTimeout ?? 60_000,
    hookTimeout: timeouts.hookTimeout ?? 120_000,
    pool: "forks" as const,
  };
}
