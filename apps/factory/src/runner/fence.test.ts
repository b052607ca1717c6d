import { TRPCClientError } from "@trpc/client";
import { describe, expect, it } from "vitest";
import { FencedSignal, fencedWrite, HttpStatusError, isTransient, neverReached } from "./fence.js";

const fenced = () =>
  TRPCClientError.from({ error: { code: -32600, message: "fenced", data: { code: "CONFLICT", reason: "FENCED" } } });

describe("fencedWrite", () => {
  it("turns a FENCED answer into a fence at once, without retrying", async () => {
    let calls = 0;
    const error = await fencedWrite(
      "job_1",
      async () => {
        calls++;
        throw fenced();
      },
      { tries: 3 },
    ).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(FencedSignal);
    expect(error).toMatchObject({ jobId: "job_1" });
    expect(calls).toBe(1);
  });

  it("retries a transient failure and returns the write's answer", async () => {
    let calls = 0;
    const answer = await fencedWrite(
      "job_1",
      async () => {
        calls++;
        if (calls === 1) throw new TypeError("fetch failed");
        return "ok";
      },
      { tries: 2 },
    );
    expect(answer).toBe("ok");
    expect(calls).toBe(2);
  });
});

describe("fencedWrite with a deadline", () => {
  it("retries a transient failure past the try count while the deadline is ahead", async () => {
    let calls = 0;
    const answer = await fencedWrite(
      "job_1",
      async () => {
        calls++;
        if (calls <= 3) throw new TypeError("fetch failed");
        return "ok";
      },
      { deadline: () => Date.now() + 60_000, tries: 2 },
    );
    expect(answer).toBe("ok");
    expect(calls).toBe(4);
  });

  it("stops retrying once the deadline is gone (0: the runner was silenced)", async () => {
    let calls = 0;
    const error = await fencedWrite(
      "job_1",
      async () => {
        calls++;
        throw new TypeError("fetch failed");
      },
      { deadline: () => 0 },
    ).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TypeError);
    expect(calls).toBe(1);
  });
});

describe("isTransient", () => {
  it("retries network errors and server-side tRPC errors, not answers about the request", () => {
    expect(isTransient(new TypeError("fetch failed"))).toBe(true);
    expect(isTransient(new HttpStatusError(502, "bad gateway"))).toBe(true);
    expect(isTransient(new HttpStatusError(413, "too large"))).toBe(false);
    expect(
      isTransient(TRPCClientError.from({ error: { code: -32600, message: "bad", data: { code: "BAD_REQUEST" } } })),
    ).toBe(false);
    expect(
      isTransient(
        TRPCClientError.from({ error: { code: -32603, message: "oops", data: { code: "INTERNAL_SERVER_ERROR" } } }),
      ),
    ).toBe(true);
  });

  it("does not retry a request that ran out its own time", () => {
    expect(isTransient(new DOMException("timed out", "TimeoutError"))).toBe(false);
  });
});

describe("neverReached", () => {
  it("is true only for connection errors raised before a request is sent, also when wrapped", () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9"), { code: "ECONNREFUSED" });
    expect(neverReached(refused)).toBe(true);
    expect(neverReached(TRPCClientError.from(new TypeError("fetch failed", { cause: refused })))).toBe(true);
    expect(neverReached(Object.assign(new Error("getaddrinfo ENOTFOUND x"), { code: "ENOTFOUND" }))).toBe(true);
    // a reset or a timeout may come after the coordinator acted on the request
    expect(neverReached(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }))).toBe(false);
    expect(neverReached(new DOMException("timed out", "TimeoutError"))).toBe(false);
    expect(neverReached(new TypeError("fetch failed"))).toBe(false);
  });
});
