import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { collections } from "../src/db/collections.js";
import { ensureIndexes } from "../src/db/indexes.js";
import { CLAIM_ORDER, claimFilter } from "../src/modules/jobs/jobs.repository.js";
import { type TestDb, openTestDb } from "./support/test-db.js";

/** Every stage of an explained plan (classic `inputStage(s)`, and SBE's `queryPlan` wrapper). */
function stagesOf(plan: unknown): { stage: string; indexName?: string }[] {
  if (plan === null || typeof plan !== "object") return [];
  const node = plan as Record<string, unknown>;
  const own = typeof node.stage === "string" ? [{ stage: node.stage, indexName: node.indexName as string }] : [];
  const children = [node.queryPlan, node.inputStage, ...((node.inputStages as unknown[] | undefined) ?? [])];
  return [...own, ...children.flatMap(stagesOf)];
}

// The Java stand-in ignores non-unique indexes and has no query planner: only a real MongoDB can
// answer. `external` (GF_MONGO_URL) and `mongod` are taken to be real ones.
const standIn = inject("mongoBackend") === "stand-in";

describe("the claim's query plan on a real MongoDB", () => {
  let testDb: TestDb;
  beforeAll(async () => {
    if (standIn) return;
    testDb = await openTestDb("claim-index");
    const cols = collections(testDb.db);
    await ensureIndexes(cols);
    // an inbox worth planning over, in two products and several stages
    const now = Date.now();
    await testDb.db.collection<{ _id: string; [field: string]: unknown }>("jobs").insertMany(
      Array.from({ length: 300 }, (_, i) => ({
        _id: `job_${String(i).padStart(4, "0")}`,
        productId: i % 3 === 0 ? "other" : "acme",
        stage: i % 4 === 0 ? "shipped" : "inbox",
        kind: "leaf",
        priority: i % 5,
        queuedAt: new Date(now - i * 1_000),
        notBefore: new Date(now - 60_000),
        pendingDeps: [],
        deps: [],
        cancelRequested: false,
        capabilities: i % 2 ? ["git"] : [],
        engine: "shell",
        ...(i % 7 === 0 ? { lock: "deploy" } : {}),
      })),
    );
  });
  afterAll(() => testDb?.close());

  it.skipIf(standIn)(
    "explain() of the claim uses index claim with no in-memory sort (skipped on the Java stand-in: it ignores non-unique indexes)",
    async () => {
      const factory = { productId: "acme", capabilities: ["git"], engines: ["shell", "codex"] };
      for (const heldLocks of [[], ["deploy"]]) {
        const explained = await testDb.db.command({
          explain: {
            findAndModify: "jobs",
            query: claimFilter(factory, heldLocks, new Date()),
            sort: CLAIM_ORDER,
            update: { $set: { stage: "building" } },
            new: true,
          },
          verbosity: "queryPlanner",
        });
        const stages = stagesOf(explained.queryPlanner.winningPlan);
        expect(stages.map((s) => s.stage)).not.toContain("SORT");
        expect(stages.find((s) => s.stage === "IXSCAN")?.indexName).toBe("claim");
      }
    },
  );
});
