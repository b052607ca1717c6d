import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { DrainInput, InsightsInput, ProfileGetInput, ProfilePublishInput, TokenCreateInput } from "./admin.js";

function rejectedAt(schema: z.ZodType, value: unknown): PropertyKey[][] {
  const result = schema.safeParse(value);
  if (result.success) throw new Error(`expected ${JSON.stringify(value)} to be rejected`);
  return result.error.issues.map((issue) => issue.path);
}

describe("admin inputs", () => {
  it("TokenCreateInput takes a role and optionally a product", () => {
    expect(TokenCreateInput.parse({ role: "factory", name: "build-01" })).toEqual({
      role: "factory",
      name: "build-01",
    });
    expect(rejectedAt(TokenCreateInput, { role: "root" })).toEqual([["role"]]);
    expect(rejectedAt(TokenCreateInput, { role: "service", productId: "a b" })).toEqual([["productId"]]);
  });

  it("InsightsInput coerces since", () => {
    expect(InsightsInput.parse({ since: "2026-01-01" }).since).toEqual(new Date("2026-01-01"));
    expect(rejectedAt(InsightsInput, { since: "last week" })).toEqual([["since"]]);
  });

  it("DrainInput needs a factory id", () => {
    expect(rejectedAt(DrainInput, {})).toEqual([["factoryId"]]);
  });
});

describe("profile inputs", () => {
  it("ProfilePublishInput takes a name and a snapshot", () => {
    const input = {
      name: "backend-engineer",
      snapshot: { persona: "careful", engine: "claude-code", env: { CI: "1" } },
    };
    expect(ProfilePublishInput.parse(input)).toEqual(input);
  });

  it("ProfilePublishInput refuses a bad env name at its key and a version (versions are assigned)", () => {
    expect(rejectedAt(ProfilePublishInput, { name: "p", snapshot: { env: { "bad-name": "1" } } })).toEqual([
      ["snapshot", "env", "bad-name"],
    ]);
    expect(rejectedAt(ProfilePublishInput, { name: "p", snapshot: {}, version: 2 })).toEqual([[]]);
  });

  it("ProfileGetInput refuses version 0", () => {
    expect(rejectedAt(ProfileGetInput, { name: "p", version: 0 })).toEqual([["version"]]);
  });
});
