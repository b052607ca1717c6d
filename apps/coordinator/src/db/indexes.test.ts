import type { IndexDescription } from "mongodb";
import { describe, expect, it } from "vitest";
import { CLAIM_ORDER, claimFilter } from "../modules/jobs/jobs.repository.js";
import { INDEXES } from "./indexes.js";

/** Fields a filter pins to one value: a plain value, `$eq`, or an `$in` of one (the planner reads it as `$eq`). */
function equalityFields(filter: Record<string, unknown>): string[] {
  return Object.entries(filter)
    .filter(([field, value]) => {
      if (field.startsWith("$")) return false;
      if (value === null || typeof value !== "object" || value instanceof Date) return true;
      const ops = Object.entries(value);
      if (ops.length !== 1) return false;
      const [op, operand] = ops[0] as [string, unknown];
      return op === "$eq" || (op === "$in" && Array.isArray(operand) && operand.length === 1);
    })
    .map(([field]) => field);
}

function keyOf(index: IndexDescription): [string, unknown][] {
  return index.key instanceof Map ? [...index.key.entries()] : Object.entries(index.key);
}

describe("index claim", () => {
  const claim = INDEXES.jobs?.find((index) => index.name === "claim");
  // several engines: `engine` is then an `$in` of many, which the claim does not pin
  const factory = { productId: "acme", capabilities: ["git"], engines: ["shell", "codex"] };

  it("starts with every equality field of the claim filter, then the claim's sort keys in order", () => {
    expect(claim).toBeDefined();
    const key = keyOf(claim as IndexDescription);
    for (const heldLocks of [[], ["deploy-prod"]]) {
      const equality = equalityFields(claimFilter(factory, heldLocks, new Date()));
      expect(equality).toContain("productId");
      expect(
        key
          .slice(0, equality.length)
          .map(([field]) => field)
          .sort(),
      ).toEqual([...equality].sort());
      // same fields, same directions, same order: the index walks in claim order, no sort stage
      expect(key.slice(equality.length)).toEqual(Object.entries(CLAIM_ORDER));
    }
  });

  it("equalityFields tells pinned fields from ranges and multi-value matches", () => {
    expect(
      equalityFields({
        a: "x",
        b: false,
        c: { $in: ["one"] },
        d: { $eq: 3 },
        e: { $in: ["one", "two"] },
        f: { $lte: 1 },
        g: { $size: 0 },
        $or: [],
      }),
    ).toEqual(["a", "b", "c", "d"]);
  });
});

describe("the index list", () => {
  it("names each index once per collection, and never gives two indexes the same key", () => {
    for (const [collection, indexes] of Object.entries(INDEXES)) {
      const names = (indexes ?? []).map((index) => `${collection}.${index.name}`);
      expect(new Set(names).size, `duplicate names in ${names.join(", ")}`).toBe(names.length);
      const keys = (indexes ?? []).map((index) => `${collection}:${JSON.stringify(keyOf(index))}`);
      expect(new Set(keys).size, `duplicate keys in ${keys.join(", ")}`).toBe(keys.length);
    }
  });
});
