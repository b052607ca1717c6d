import { TRPCError } from "@trpc/server";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ConflictError, DomainError, FencedError, NotFoundError, PreconditionError } from "../errors.js";
import { TooLargeError } from "../modules/artifacts/blob-store.js";
import { httpErrorOf } from "./errors.js";

describe("httpErrorOf", () => {
  it("answers a conflict with 409, as tRPC does (it was 400 on the plain routes)", () => {
    expect(httpErrorOf(new ConflictError("artifact name taken"))).toEqual({
      status: 409,
      body: { error: "CONFLICT", message: "artifact name taken", domain: "ConflictError" },
    });
  });

  it("answers a fenced write with 409 and reason FENCED", () => {
    expect(httpErrorOf(new FencedError("job-1", 2))).toMatchObject({
      status: 409,
      body: { error: "CONFLICT", reason: "FENCED" },
    });
  });

  it("takes every status from the same table", () => {
    expect(httpErrorOf(new NotFoundError("artifact", "art_1")).status).toBe(404);
    expect(httpErrorOf(new PreconditionError("not yet")).status).toBe(412);
    expect(httpErrorOf(new TRPCError({ code: "UNAUTHORIZED" })).status).toBe(401);
    expect(httpErrorOf(new TRPCError({ code: "FORBIDDEN" })).status).toBe(403);
  });

  it("answers a body over the limit with 413", () => {
    expect(httpErrorOf(new TooLargeError(10))).toMatchObject({ status: 413, body: { error: "PAYLOAD_TOO_LARGE" } });
  });

  it("names the fields of invalid input", () => {
    const invalid = z.object({ name: z.string() }).safeParse({ name: 1 });
    if (invalid.success) throw new Error("expected the parse to fail");
    expect(httpErrorOf(new TRPCError({ code: "BAD_REQUEST", cause: invalid.error }))).toMatchObject({
      status: 400,
      body: { error: "BAD_REQUEST", issues: [{ path: "name" }] },
    });
  });

  it("answers anything else with a bare 500, an unlisted domain error with its message", () => {
    expect(httpErrorOf(new Error("secret detail"))).toEqual({ status: 500, body: { error: "INTERNAL_SERVER_ERROR" } });
    expect(httpErrorOf(new DomainError("new rule"))).toMatchObject({ status: 500 });
  });
});
