import { TRPCClientError } from "@trpc/client";
import { JobFileParseError } from "../jobfile/job-file-error.js";

/** What `gf` exits with. */
export const EXIT = {
  ok: 0,
  /** A job did not ship (`--wait`), or the coordinator refused the operation in the job's current state. */
  failed: 1,
  /** Bad arguments or a bad file (job file, profile); nothing was changed. */
  usage: 2,
  /** The job, factory or profile does not exist (or an app package is not installed). */
  notFound: 3,
  /** The coordinator cannot be reached, or the token is missing, unknown or lacks the role. */
  unreachable: 4,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error meant for the user: the message is printed as is and the process exits with `exitCode`. */
export class CliError extends Error {
  override readonly name = "CliError";
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
  }
}

/** The exit code and the message to print for anything a command threw. */
export function explainError(error: unknown, where?: string): { exitCode: ExitCode; message: string } {
  if (error instanceof CliError) return { exitCode: error.exitCode, message: error.message };
  if (error instanceof JobFileParseError) return { exitCode: EXIT.usage, message: error.message };
  if (error instanceof TRPCClientError) return explainTRPCError(error, where);
  if (error instanceof Error) return { exitCode: EXIT.failed, message: error.message };
  return { exitCode: EXIT.failed, message: String(error) };
}

function explainTRPCError(
  error: TRPCClientError<never>,
  where: string | undefined,
): { exitCode: ExitCode; message: string } {
  const data: unknown = error.data;
  const code =
    typeof data === "object" && data !== null && "code" in data && typeof data.code === "string"
      ? data.code
      : undefined;
  const at = where ? ` (${where})` : "";
  switch (code) {
    case undefined:
      // no answer from a coordinator at all: refused, reset, DNS, or not a tRPC server
      return { exitCode: EXIT.unreachable, message: `cannot reach the coordinator${at}: ${networkReason(error)}` };
    case "UNAUTHORIZED":
      return { exitCode: EXIT.unreachable, message: `the coordinator refused the token${at}: ${error.message}` };
    case "FORBIDDEN":
      return { exitCode: EXIT.unreachable, message: `not allowed${at}: ${error.message}` };
    case "NOT_FOUND":
      return { exitCode: EXIT.notFound, message: error.message };
    case "BAD_REQUEST":
    case "PARSE_ERROR":
    case "PAYLOAD_TOO_LARGE":
      return { exitCode: EXIT.usage, message: error.message };
    default:
      return { exitCode: EXIT.failed, message: error.message };
  }
}

function networkReason(error: Error): string {
  const reasons: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as NodeJS.ErrnoException).code;
    reasons.push(code ? `${current.message} (${code})` : current.message);
    current = current.cause;
  }
  return [...new Set(reasons)].join(": ");
}
