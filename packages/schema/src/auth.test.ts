import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { Lock, Token } from "./auth.js";

function rejectedAt(schema: z.ZodType, value: unknown): PropertyKey[][] {
  const result = schema.safeParse(value);
  if (result.success) throw new Error(`expected ${JSON.stringify(value)} to be rejected`);
  return result.error.issues.map((issue) => issue.path);
}

const now = new Date("2026-01-02T03:04:05Z");

describe("Token", () => {
  const token = {
    _id: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    role: "factory",
    productId: "acme",
    name: "build-01",
    createdAt: now,
  };

  it("parses a stored token hash", () => {
    expect(Token.parse(token)).toEqual(token);
    expect(Token.parse({ ...token, revokedAt: now }).revokedAt).toEqual(now);
  });

  it("refuses a raw token in place of its sha-256", () => {
    expect(rejectedAt(Token, { ...token, _id: "gf_secret_token_value" })).toEqual([["_id"]]);
  });

  it("refuses an unknown role", () => {
    expect(rejectedAt(Token, { ...token, role: "root" })).toEqual([["role"]]);
  });

  it("refuses a missing productId", () => {
    const { productId, ...rest } = token;
    expect(rejectedAt(Token, rest)).toEqual([["productId"]]);
  });
});

describe("Lock", () => {
  const lock = {
    _id: "acme:common-plat",
    productId: "acme",
    name: "common-plat",
    jobId: "job-1",
    epoch: 2,
    acquiredAt: now,
  };

  it("parses a held lock", () => {
    expect(Lock.parse(lock)).toEqual(lock);
  });

  it("refuses a negative epoch at epoch", () => {
    expect(rejectedAt(Lock, { ...lock, epoch: -1 })).toEqual([["epoch"]]);
  });

  it("refuses a lock name with spaces and a missing jobId", () => {
    const { jobId, ...rest } = lock;
    expect(rejectedAt(Lock, { ...rest, name: "common plat" })).toEqual([["name"], ["jobId"]]);
  });
});
