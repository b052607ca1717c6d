import { inject } from "vitest";
import { openTestDb as openTestDbAt, type TestDb } from "../../src/testing.js";

export type { TestDb };

/**
 * Opens a fresh, uniquely named database on the server started by `mongo-global-setup.ts`.
 * Call once per test file (e.g. in `beforeAll`) with a label naming the file; close it in
 * `afterAll` (or `await using` it inside one test).
 */
export function openTestDb(label: string): Promise<TestDb> {
  return openTestDbAt(inject("mongoUrl"), label);
}
