import { TRPCClientError } from "@trpc/client";
import { describe, expect, it } from "vitest";
import { JobFileParseError } from "../jobfile/job-file-error.js";
import { CliError, EXIT, explainError } from "./errors.js";

const serverError = (code: string, message = "nope") =>
  TRPCClientError.from({ error: { code: -32_000, message, data: { code, httpStatus: 400 } } });

describe("exit codes", () => {
  it("maps server error codes onto exit codes", () => {
    expect(explainError(serverError("NOT_FOUND", "job x not found"))).toEqual({
      exitCode: EXIT.notFound,
      message: "job x not found",
    });
    expect(explainError(serverError("BAD_REQUEST")).exitCode).toBe(EXIT.usage);
    expect(explainError(serverError("UNAUTHORIZED")).exitCode).toBe(EXIT.unreachable);
    expect(explainError(serverError("FORBIDDEN")).exitCode).toBe(EXIT.unreachable);
    expect(explainError(serverError("PRECONDITION_FAILED")).exitCode).toBe(EXIT.failed);
  });

  it("calls an error with no server answer unreachable, with the network reason", () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9"), { code: "ECONNREFUSED" });
    const error = TRPCClientError.from(new TypeError("fetch failed", { cause: refused }));
    const { exitCode, message } = explainError(error, "http://127.0.0.1:9");
    expect(exitCode).toBe(EXIT.unreachable);
    expect(message).toBe(
      "cannot reach the coordinator (http://127.0.0.1:9): fetch failed: connect ECONNREFUSED 127.0.0.1:9 (ECONNREFUSED)",
    );
  });

  it("keeps a CliError's own code and treats a job file error as bad input", () => {
    expect(explainError(new CliError("x", EXIT.notFound)).exitCode).toBe(EXIT.notFound);
    expect(explainError(new JobFileParseError([{ field: "timeout", line: 3, message: "bad" }]))).toEqual({
      exitCode: EXIT.usage,
      message: "line 3: timeout: bad",
    });
  });
});
