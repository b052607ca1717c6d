import { TRPCError } from "@trpc/server";
import { DomainError, FencedError, InvalidInputError, codeOf } from "../errors.js";

/**
 * A domain error as the `TRPCError` every transport answers with (its code from the table in
 * errors.ts); the domain error is its cause.
 */
export function toTRPCError(error: DomainError): TRPCError {
  return new TRPCError({ code: codeOf(error), message: error.message, cause: error });
}

/**
 * What clients see beside the code: `reason: "FENCED"` for a fenced write, the field of an
 * invalid input, and the domain error's name. Used by the tRPC error formatter and the HTTP routes.
 */
export function domainDetails(cause: unknown): {
  reason?: "FENCED";
  issues?: Issue[];
  domain?: string;
} {
  return {
    ...(cause instanceof FencedError ? { reason: "FENCED" as const } : {}),
    ...(cause instanceof InvalidInputError ? { issues: [{ path: cause.field, message: cause.message }] } : {}),
    ...(cause instanceof DomainError ? { domain: cause.name } : {}),
  };
}

type Issue = { path: string; message: string };
type RawIssue = {
  path?: ReadonlyArray<PropertyKey | { key: PropertyKey }>;
  message?: string;
  code?: string;
  keys?: unknown;
};

/** Zod (or any Standard Schema) issues as `field: message` pairs. */
export function issuesOf(error: unknown): Issue[] | undefined {
  const issues = (error as { issues?: unknown })?.issues;
  if (!Array.isArray(issues)) return undefined;
  return issues.flatMap((issue: RawIssue) => {
    const path = (issue.path ?? []).map((part) => String(typeof part === "object" ? part.key : part));
    const message = issue.message ?? "invalid";
    // zod reports unknown keys on the object; name each key as the field, so callers see which
    if (issue.code === "unrecognized_keys" && Array.isArray(issue.keys) && issue.keys.length) {
      return issue.keys.map((key) => ({
        path: [...path, String(key)].join("."),
        message: `unknown key "${String(key)}"`,
      }));
    }
    return [{ path: path.join("."), message }];
  });
}
