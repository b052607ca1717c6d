/**
 * Domain errors: services throw these; one tRPC middleware maps them to error codes.
 * Each sets `name` so it survives logging and `instanceof` across module copies.
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
