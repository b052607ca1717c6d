import { TRPCError } from "@trpc/server";
import { getHTTPStatusCodeFromError } from "@trpc/server/http";
import { describe, expect, it } from "vitest";
import {
  ConflictError,
  DOMAIN_ERROR_CODES,
  DomainError,
  FencedError,
  ForbiddenError,
  InvalidInputError,
  NotFoundError,
  PreconditionError,
} from "./errors.js";
import { domainDetails, toTRPCError } from "./trpc/errors.js";

const examples: Array<[DomainError, TRPCError["code"], number]> = [
  [new NotFoundError("job", "job-1"), "NOT_FOUND", 404],
  [new FencedError("job-1", 3), "CONFLICT", 409],
  [new ConflictError("already shipped"), "CONFLICT", 409],
  [new PreconditionError("not in review"), "PRECONDITION_FAILED", 412],
  [new ForbiddenError("not yours"), "FORBIDDEN", 403],
  [new InvalidInputError("deps", "unknown job"), "BAD_REQUEST", 400],
];

describe("the domain error table", () => {
  it.each(examples)("maps %s to %s, which is HTTP %i", (error, code, status) => {
    const mapped = toTRPCError(error);
    expect(mapped.code).toBe(code);
    expect(getHTTPStatusCodeFromError(mapped)).toBe(status);
    expect(mapped.cause).toBe(error);
    expect(mapped.message).toBe(error.message);
  });

  it("lists every domain error class", () => {
    expect(DOMAIN_ERROR_CODES.map(([type]) => type.name).sort()).toEqual(
      examples.map(([error]) => error.constructor.name).sort(),
    );
  });

  it("maps a subclass by its parent, and an unlisted domain error to INTERNAL_SERVER_ERROR", () => {
    class LockTakenError extends ConflictError {}
    expect(toTRPCError(new LockTakenError("lock held")).code).toBe("CONFLICT");
    expect(toTRPCError(new DomainError("something new")).code).toBe("INTERNAL_SERVER_ERROR");
  });
});

describe("domainDetails", () => {
  it("marks a fenced write FENCED and names the domain error", () => {
    expect(domainDetails(new FencedError("job-1", 3))).toEqual({ reason: "FENCED", domain: "FencedError" });
    expect(domainDetails(new ConflictError("x"))).toEqual({ domain: "ConflictError" });
  });

  it("names the field of an invalid input", () => {
    expect(domainDetails(new InvalidInputError("deps", "unknown job"))).toEqual({
      issues: [{ path: "deps", message: "deps: unknown job" }],
      domain: "InvalidInputError",
    });
  });

  it("adds nothing for other causes", () => {
    expect(domainDetails(new Error("boom"))).toEqual({});
    expect(domainDetails(new TRPCError({ code: "CONFLICT" }))).toEqual({});
    expect(domainDetails(undefined)).toEqual({});
  });
});
