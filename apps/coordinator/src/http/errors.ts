import { TRPCError } from "@trpc/server";
import { getHTTPStatusCodeFromError } from "@trpc/server/http";
import { DomainError } from "../errors.js";
import { TooLargeError } from "../modules/artifacts/blob-store.js";
import { domainDetails, issuesOf, toTRPCError } from "../trpc/errors.js";

/** An error answer of a plain HTTP route: the body names the tRPC code, as a tRPC error would. */
export interface HttpError {
  status: number;
  body: { error: string; message?: string; reason?: "FENCED"; issues?: unknown; domain?: string };
}

/**
 * The status and body for an error on a plain HTTP route. The code comes from the same table as
 * tRPC's (`DOMAIN_ERROR_CODES`) and the status from tRPC's own `getHTTPStatusCodeFromError`, so a
 * conflict is 409 over both. Anything not known is a 500 that says nothing more.
 */
export function httpErrorOf(error: unknown): HttpError {
  const trpcError =
    error instanceof TRPCError
      ? error
      : error instanceof DomainError
        ? toTRPCError(error)
        : error instanceof TooLargeError
          ? new TRPCError({ code: "PAYLOAD_TOO_LARGE", message: error.message, cause: error })
          : undefined;
  if (!trpcError) return { status: 500, body: { error: "INTERNAL_SERVER_ERROR" } };
  // invalid input names its fields, as the tRPC error formatter does
  const issues = trpcError.code === "BAD_REQUEST" ? issuesOf(trpcError.cause) : undefined;
  return {
    status: getHTTPStatusCodeFromError(trpcError),
    body: {
      error: trpcError.code,
      message: trpcError.message,
      ...(issues ? { issues } : {}),
      ...domainDetails(trpcError.cause),
    },
  };
}
