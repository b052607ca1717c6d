import { type Db, MongoClient } from "mongodb";
import { inject } from "vitest";
import { databaseNameFor } from "../../src/index.js";

/** A client on the run's shared MongoDB, scoped to a database of its own. */
export interface TestDb {
  client: MongoClient;
  db: Db;
  url: string;
  dbName: string;
  /** Drops the database and closes the client. Idempotent. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Opens a fresh, uniquely named database on the server started by
 * `mongo-global-setup.ts`. Call once per test file (e.g. in `beforeAll`) with
 * a label naming the file; close it in `afterAll`.
 */
export async function openTestDb(label: string): Promise<TestDb> {
  const url = inject("mongoUrl");
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
