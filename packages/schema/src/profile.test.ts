import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { Profile } from "./profile.js";

function rejectedAt(schema: z.ZodType, value: unknown): PropertyKey[][] {
  const result = schema.safeParse(value);
  if (result.success) throw new Error(`expected ${JSON.stringify(value)} to be rejected`);
  return result.error.issues.map((issue) => issue.path);
}

const profile = {
  productId: "acme",
  name: "backend-engineer",
  version: 3,
  snapshot: {
    persona: "You are a careful backend engineer.",
    engine: "claude-code",
    model: "claude-sonnet-4",
    engineArgs: ["--verbose"],
    env: { NODE_ENV: "test", GF_TRACE: "1" },
    maxTurns: 40,
    allowedTools: ["Bash", "Edit"],
  },
  createdAt: new Date("2026-01-02T03:04:05Z"),
};

describe("Profile", () => {
  it("parses a published version", () => {
    expect(Profile.parse(profile)).toEqual(profile);
  });

  it("parses an empty snapshot", () => {
    expect(Profile.parse({ ...profile, snapshot: {} }).snapshot).toEqual({});
  });

  it("refuses version 0 (versions count from 1)", () => {
    expect(rejectedAt(Profile, { ...profile, version: 0 })).toEqual([["version"]]);
  });

  it("refuses an environment variable name that is not one, at its key", () => {
    expect(rejectedAt(Profile, { ...profile, snapshot: { env: { "not-a-var": "1" } } })).toEqual([
      ["snapshot", "env", "not-a-var"],
    ]);
  });

  it("refuses a name with spaces and a missing productId", () => {
    const { productId, ...rest } = profile;
    expect(rejectedAt(Profile, { ...rest, name: "backend engineer" })).toEqual([["productId"], ["name"]]);
  });
});
