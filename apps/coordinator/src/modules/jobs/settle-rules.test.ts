import type { Job, Stage } from "@gigafactory/schema";
import { describe, expect, it } from "vitest";
import { doom, doomedBy, pendingDeps, settleParent } from "./settle-rules.js";

const job = (_id: string, stage: Stage) => ({ _id, stage });

describe("pendingDeps", () => {
  const deps = [job("a", "shipped"), job("b", "building"), job("c", "inbox")];

  it("all-mode waits for every dependency that has not shipped", () => {
    expect(pendingDeps("all", deps)).toEqual(["b", "c"]);
    expect(pendingDeps("all", [job("a", "shipped")])).toEqual([]);
  });

  it("any-mode waits for nothing once one dependency shipped", () => {
    expect(pendingDeps("any", deps)).toEqual([]);
  });

  it("any-mode waits for all of them while none has shipped", () => {
    expect(pendingDeps("any", [job("b", "building"), job("c", "failed")])).toEqual(["b", "c"]);
  });

  it("no dependencies, nothing to wait for", () => {
    expect(pendingDeps("all", [])).toEqual([]);
    expect(pendingDeps("any", [])).toEqual([]);
  });
});

describe("doomedBy", () => {
  it("all-mode is doomed by the first failed or cancelled dependency", () => {
    const deps = [job("a", "shipped"), job("b", "cancelled"), job("c", "failed")];
    expect(doomedBy("all", deps)?._id).toBe("b");
    expect(doomedBy("all", [job("a", "shipped"), job("b", "inbox")])).toBeUndefined();
  });

  it("any-mode is doomed only when every dependency died", () => {
    expect(doomedBy("any", [job("a", "failed"), job("b", "inbox")])).toBeUndefined();
    expect(doomedBy("any", [job("a", "failed"), job("b", "cancelled")])?._id).toBe("a");
    expect(doomedBy("any", [])).toBeUndefined();
  });
});

describe("doom", () => {
  const culprit = (over: Partial<Job>) =>
    ({ _id: "job_dep", title: "build it", idempotencyKey: "key-1", stage: "failed", ...over }) as Job;

  it("fails the dependent of a failed dependency and names it, with its reason", () => {
    expect(doom(culprit({ reason: "tests broke" }))).toEqual({
      stage: "failed",
      reason: "dependency job_dep (build it) failed: tests broke",
    });
  });

  it("cancels the dependent of a cancelled dependency; names it by key when it has no title", () => {
    expect(doom(culprit({ stage: "cancelled", title: "" }))).toEqual({
      stage: "cancelled",
      reason: "dependency job_dep (key-1) was cancelled",
    });
  });

  it("keeps the reason within the schema's 2,000 characters", () => {
    expect(doom(culprit({ reason: "x".repeat(2_000) })).reason).toHaveLength(2_000);
  });
});

describe("settleParent", () => {
  it("waits while any child is not finished", () => {
    expect(settleParent([job("a", "shipped"), job("b", "testing")])).toBeNull();
    expect(settleParent([job("a", "inbox")])).toBeNull();
  });

  it("ships the parent when every child shipped", () => {
    expect(settleParent([job("a", "shipped"), job("b", "shipped")])).toEqual({ stage: "shipped", unshipped: [] });
  });

  it("fails the parent when a child failed or was cancelled, naming those children", () => {
    expect(settleParent([job("a", "shipped"), job("b", "failed"), job("c", "cancelled")])).toEqual({
      stage: "failed",
      unshipped: ["b", "c"],
      reason: "children did not ship: b, c",
    });
  });
});
