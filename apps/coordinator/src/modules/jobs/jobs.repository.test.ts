import { describe, expect, it } from "vitest";
import { claimFilter, fenceFilter, moving, movingFromActive, owesSettle } from "./jobs.repository.js";

const factory = { productId: "acme", capabilities: ["git", "node"], engines: ["shell", "codex"] };
const now = new Date("2026-01-01T00:00:00Z");

describe("claimFilter", () => {
  it("matches due, unblocked, uncancelled leaf jobs of the product in the inbox", () => {
    expect(claimFilter(factory, [], now)).toEqual({
      productId: "acme",
      stage: { $in: ["inbox"] },
      kind: "leaf",
      pendingDeps: { $size: 0 },
      notBefore: { $lte: now },
      cancelRequested: false,
      capabilities: { $not: { $elemMatch: { $nin: ["git", "node"] } } },
      engine: { $in: ["shell", "codex"] },
    });
  });

  it("skips jobs that need a lock some job holds, only when some lock is held", () => {
    expect(claimFilter(factory, [], now)).not.toHaveProperty("lock");
    expect(claimFilter(factory, ["deploy-prod"], now)).toMatchObject({ lock: { $nin: ["deploy-prod"] } });
  });
});

describe("moving", () => {
  it("matches the source stages of an allowed transition", () => {
    expect(moving("review", "shipped")).toEqual({ stage: { $in: ["review"] } });
    expect(moving(["failed", "cancelled"], "inbox")).toEqual({ stage: { $in: ["failed", "cancelled"] } });
  });

  it("throws on a transition the lifecycle table does not allow", () => {
    expect(() => moving("shipped", "inbox")).toThrow(/lifecycle: shipped → inbox/);
    // one disallowed source among allowed ones is enough
    expect(() => moving(["inbox", "review"], "building")).toThrow(/review → building/);
  });

  it("from active: only the active stages that may reach the target", () => {
    expect(movingFromActive("review")).toEqual({ stage: { $in: ["building", "testing"] } });
    expect(movingFromActive("inbox")).toEqual({ stage: { $in: ["building", "review", "testing"] } });
  });
});

describe("fenceFilter", () => {
  it("is the holder, the epoch and an active stage", () => {
    expect(fenceFilter({ productId: "acme", jobId: "job_1", epoch: 3, factoryId: "f-1" })).toEqual({
      _id: "job_1",
      productId: "acme",
      "lease.epoch": 3,
      "lease.holder": "f-1",
      stage: { $in: ["building", "review", "testing"] },
    });
  });
});

describe("owesSettle", () => {
  it("is owed when a change leaves an active stage or reaches a terminal one", () => {
    expect(owesSettle("building", "inbox")).toBe(true); // the lock
    expect(owesSettle("review", "inbox")).toBe(true);
    expect(owesSettle("inbox", "cancelled")).toBe(true); // dependents, parent
    expect(owesSettle(["inbox", "review"], "cancelled")).toBe(true);
  });

  it("is not owed by a change with no follow-ups", () => {
    expect(owesSettle(["failed", "cancelled"], "inbox")).toBe(false);
    expect(owesSettle("inbox", "building")).toBe(false);
  });
});
