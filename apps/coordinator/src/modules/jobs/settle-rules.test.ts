import type { Job, Stage } from "@gigafactory/schema";
import { describe, expect, it } from "vitest";
import {
  childRefusal,
  childrenToRetry,
  doom,
  doomedBy,
  parentOnChildRetry,
  pendingDeps,
  settleParent,
} from "./settle-rules.js";

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
  const now = new Date("2026-01-01T00:00:10Z");
  const opts = { now, graceMs: 5_000 };
  const sealed = (childCount: number, lastChildAt = new Date("2026-01-01T00:00:00Z")) => ({
    sealed: true,
    childCount,
    lastChildAt,
  });

  it("never settles an open parent, even when every child it has finished (or it has none)", () => {
    expect(settleParent({}, [job("a", "shipped")], opts)).toEqual({ kind: "open" });
    expect(settleParent({ sealed: false }, [], opts)).toEqual({ kind: "open" });
  });

  it("waits while any child is not finished", () => {
    expect(settleParent(sealed(2), [job("a", "shipped"), job("b", "testing")], opts)).toEqual({
      kind: "waiting",
      inFlight: false,
    });
    expect(settleParent(sealed(1), [job("a", "inbox")], opts)).toMatchObject({ kind: "waiting" });
  });

  it("ships the parent when every child shipped", () => {
    expect(settleParent(sealed(2), [job("a", "shipped"), job("b", "shipped")], opts)).toEqual({
      kind: "settled",
      stage: "shipped",
      unshipped: [],
    });
  });

  it("ships a sealed parent with no children", () => {
    expect(settleParent({ sealed: true }, [], opts)).toEqual({ kind: "settled", stage: "shipped", unshipped: [] });
  });

  it("fails the parent when a child failed or was cancelled, naming those children", () => {
    expect(settleParent(sealed(3), [job("a", "shipped"), job("b", "failed"), job("c", "cancelled")], opts)).toEqual({
      kind: "settled",
      stage: "failed",
      unshipped: ["b", "c"],
      reason: "children did not ship: b, c",
    });
  });

  it("waits for a child admitted but not stored yet, within the grace period only", () => {
    const recent = sealed(2, new Date("2026-01-01T00:00:08Z"));
    expect(settleParent(recent, [job("a", "shipped")], opts)).toEqual({ kind: "waiting", inFlight: true });
    // its creator died: after the grace the missing child is not waited for
    expect(settleParent(sealed(2), [job("a", "shipped")], opts)).toMatchObject({ kind: "settled", stage: "shipped" });
  });
});

describe("childRefusal", () => {
  const parent = (over: Partial<Job>) => ({ _id: "job_p", kind: "composite", stage: "inbox", ...over }) as Job;

  it("admits a child under an open composite parent in the inbox", () => {
    expect(childRefusal(parent({}))).toBeNull();
  });

  it("refuses a child under a leaf, a finished parent or a sealed one", () => {
    expect(childRefusal(parent({ kind: "leaf" }))).toContain("not a composite job");
    expect(childRefusal(parent({ stage: "shipped" }))).toBe(
      "parent job_p is shipped; a child cannot be added to a finished parent",
    );
    expect(childRefusal(parent({ stage: "failed" }))).toContain("finished parent");
    expect(childRefusal(parent({ sealed: true }))).toContain("is sealed");
  });
});

describe("retry of composites", () => {
  it("a parent's retry retries its failed and cancelled children only", () => {
    const children = [job("a", "shipped"), job("b", "failed"), job("c", "cancelled"), job("d", "inbox")];
    expect(childrenToRetry(children).map((each) => each._id)).toEqual(["b", "c"]);
  });

  it("a child's retry re-opens a failed or cancelled parent and is refused under a shipped one", () => {
    expect(parentOnChildRetry(job("p", "failed"))).toBe("reopen");
    expect(parentOnChildRetry(job("p", "cancelled"))).toBe("reopen");
    expect(parentOnChildRetry(job("p", "inbox"))).toBe("none");
    expect(parentOnChildRetry(job("p", "shipped"))).toEqual({
      refuse: "parent p has shipped; a child of a shipped parent cannot be retried",
    });
  });
});
