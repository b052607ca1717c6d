import type { TRPC_ERROR_CODE_KEY } from "@trpc/server";

/**
 * Domain errors: services throw these; `DOMAIN_ERROR_CODES` below gives each its code for every
 * transport. Each sets `name` so it survives logging and `instanceof` across module copies.
 */
export class DomainError extends Error {
  constructor(
    message: string,
    readonly data: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = "DomainError";
  }
}

export class NotFoundError extends DomainError {
  constructor(what: string, id: string) {
    super(`${what} ${id} not found`, { what, id });
    this.name = "NotFoundError";
  }
}

/** A write that carried a stale `{jobId, epoch}`: the caller no longer holds the job. */
export class FencedError extends DomainError {
  readonly reason = "FENCED";
  constructor(jobId: string, epoch: number) {
    super(`job ${jobId}: epoch ${epoch} no longer holds the lease`, { jobId, epoch, reason: "FENCED" });
    this.name = "FencedError";
  }
}

export class ConflictError extends DomainError {
  constructor(message: string, data: Record<string, unknown> = {}) {
    super(message, data);
    this.name = "ConflictError";
  }
}

/** The target exists but is in a state that does not allow the operation. */
export class PreconditionError extends DomainError {
  constructor(message: string, data: Record<string, unknown> = {}) {
    super(message, data);
    this.name = "PreconditionError";
  }
}

export class ForbiddenError extends DomainError {
  constructor(message: string) {
    super(message);
    this.name = "ForbiddenError";
  }
}

export class InvalidInputError extends DomainError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`, { field });
    this.name = "InvalidInputError";
  }
}

/**
 * The one table from domain errors to tRPC codes, read top to bottom (the first class the error
 * is an instance of wins). Every transport goes through it: tRPC by the `mapErrors` middleware
 * (trpc/trpc.ts), the plain HTTP routes by tRPC's `getHTTPStatusCodeFromError` over the same
 * `TRPCError` (http/errors.ts), so a conflict is 409 on both. A domain error not listed is an
 * `INTERNAL_SERVER_ERROR`.
 */
export const DOMAIN_ERROR_CODES: ReadonlyArray<
  readonly [abstract new (...args: never[]) => DomainError, TRPC_ERROR_CODE_KEY]
> = [
  [NotFoundError, "NOT_FOUND"],
  [FencedError, "CONFLICT"],
  [ConflictError, "CONFLICT"],
  [PreconditionError, "PRECONDITION_FAILED"],
  [ForbiddenError, "FORBIDDEN"],
  [InvalidInputError, "BAD_REQUEST"],
];

export function codeOf(error: DomainError): TRPC_ERROR_CODE_KEY {
  return DOMAIN_ERROR_CODES.find(([type]) => error instanceof type)?.[1] ?? "INTERNAL_SERVER_ERROR";
}
