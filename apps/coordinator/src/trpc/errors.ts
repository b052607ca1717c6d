import { TRPCError } from "@trpc/server";
import type { TRPC_ERROR_CODE_KEY } from "@trpc/server";
import {
  ConflictError,
  type DomainError,
  FencedError,
  ForbiddenError,
  InvalidInputError,
  NotFoundError,
  PreconditionError,
} from "../errors.js";

/** The one mapping from domain errors to tRPC codes. */
export function toTRPCError(error: DomainError): TRPCError {
  let code: TRPC_ERROR_CODE_KEY = "INTERNAL_SERVER_ERROR";
  if (error instanceof NotFoundError) code = "NOT_FOUND";
  else if (error instanceof FencedError || error instanceof ConflictError) code = "CONFLICT";
  else if (error instanceof PreconditionError) code = "PRECONDITION_FAILED";
  else if (error instanceof ForbiddenError) code = "FORBIDDEN";
  else if (error instanceof InvalidInputError) code = "BAD_REQUEST";
  return new TRPCError({ code, message: error.message, cause: error });
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
