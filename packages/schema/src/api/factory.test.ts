import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { EVENT_LIMITS } from "../event.js";
import {
  AdvanceInput,
  AppendEventsInput,
  ArtifactPutMeta,
  CheckpointInput,
  ClaimInput,
  CompleteInput,
  FactoryMessage,
  HeartbeatInput,
  RegisterInput,
  ReleaseInput,
  RenewInput,
} from "./factory.js";

function rejected(schema: z.ZodType, value: unknown) {
  const result = schema.safeParse(value);
  if (result.success) throw new Error(`expected ${JSON.stringify(value).slice(0, 200)} to be rejected`);
  return result.error.issues;
}

const rejectedAt = (schema: z.ZodType, value: unknown) => rejected(schema, value).map((issue) => issue.path);

const fence = { jobId: "job-1", epoch: 2, factoryId: "factory-1" };

describe("RegisterInput", () => {
  const register = {
    factoryId: "factory-1",
    descriptor: { host: "build-01", pid: 4242, os: "linux", version: "0.1.0" },
    capabilities: ["os:linux"],
    engines: ["shell"],
    seatLimit: 2,
  };

  it("parses a registration", () => {
    expect(RegisterInput.parse(register)).toEqual(register);
  });

  it("refuses a factory offering no engine", () => {
    expect(rejectedAt(RegisterInput, { ...register, engines: [] })).toEqual([["engines"]]);
  });

  it("refuses more than 256 seats", () => {
    expect(rejectedAt(RegisterInput, { ...register, seatLimit: 257 })).toEqual([["seatLimit"]]);
  });

  it("refuses an unknown key (the product comes from the token, never from input)", () => {
    const [issue] = rejected(RegisterInput, { ...register, productId: "other" });
    expect(issue?.code).toBe("unrecognized_keys");
    expect(issue && "keys" in issue ? issue.keys : []).toEqual(["productId"]);
  });
});

describe("fenced inputs", () => {
  it("RenewInput is the fence and nothing else", () => {
    expect(RenewInput.parse(fence)).toEqual(fence);
    expect(rejectedAt(RenewInput, { ...fence, epoch: -1 })).toEqual([["epoch"]]);
    const { factoryId, ...noHolder } = fence;
    expect(rejectedAt(RenewInput, noHolder)).toEqual([["factoryId"]]);
  });

  it("AdvanceInput only moves to an active stage", () => {
    expect(AdvanceInput.parse({ ...fence, to: "testing" }).to).toBe("testing");
    expect(rejectedAt(AdvanceInput, { ...fence, to: "shipped" })).toEqual([["to"]]);
    expect(rejectedAt(AdvanceInput, { ...fence, to: "inbox" })).toEqual([["to"]]);
  });

  it("CheckpointInput checks the commit hash", () => {
    const checkpoint = { wipBranch: "gf/wip/job-1", wipBase: "0a1b2c3", wipCommit: "abcdef1" };
    expect(CheckpointInput.parse({ ...fence, checkpoint }).checkpoint).toEqual(checkpoint);
    expect(rejectedAt(CheckpointInput, { ...fence, checkpoint: { ...checkpoint, wipCommit: "HEAD" } })).toEqual([
      ["checkpoint", "wipCommit"],
    ]);
  });
});

describe("AppendEventsInput", () => {
  it("parses a batch and coerces times", () => {
    const parsed = AppendEventsInput.parse({
      ...fence,
      events: [
        { type: "log", at: "2026-01-02T03:04:05Z", data: { stream: "stdout", text: "hi\n" } },
        { type: "insights", data: { tokensIn: 10 } },
      ],
    });
    expect(parsed.events).toHaveLength(2);
    expect(parsed.events[0]?.at).toEqual(new Date("2026-01-02T03:04:05Z"));
  });

  it("refuses an empty batch and one over the batch limit", () => {
    expect(rejectedAt(AppendEventsInput, { ...fence, events: [] })).toEqual([["events"]]);
    const events = Array.from({ length: EVENT_LIMITS.maxBatch + 1 }, () => ({ type: "log", data: {} }));
    expect(rejectedAt(AppendEventsInput, { ...fence, events })).toEqual([["events"]]);
  });

  it("refuses event data over the limit at events.<i>.data", () => {
    const events = [
      { type: "log", data: { text: "ok" } },
      { type: "log", data: { text: "x".repeat(EVENT_LIMITS.maxDataBytes) } },
    ];
    expect(rejectedAt(AppendEventsInput, { ...fence, events })).toEqual([["events", 1, "data"]]);
  });

  it("refuses a lifecycle event type from a factory", () => {
    expect(rejectedAt(AppendEventsInput, { ...fence, events: [{ type: "shipped", data: {} }] })).toEqual([
      ["events", 0, "type"],
    ]);
  });
});

describe("CompleteInput", () => {
  it("defaults insights to empty", () => {
    expect(CompleteInput.parse({ ...fence, result: "success" })).toEqual({ ...fence, result: "success", insights: {} });
  });

  it("keeps exit, verify result and insights", () => {
    const input = {
      ...fence,
      result: "failure",
      exit: { code: 1, signal: null },
      verifyResult: { passed: false, steps: [{ command: "pnpm test", exitCode: 1, durationMs: 900 }] },
      insights: { tokensIn: 100, costUsd: 0.01, estimated: true },
      reason: "tests failed",
    };
    expect(CompleteInput.parse(input)).toEqual(input);
  });

  it.each(["lost", "fenced", "released", "ok"])("refuses the result %j (not the factory's to report)", (result) => {
    expect(rejectedAt(CompleteInput, { ...fence, result })).toEqual([["result"]]);
  });

  it("refuses negative insights at their path", () => {
    expect(rejectedAt(CompleteInput, { ...fence, result: "success", insights: { tokensOut: -3 } })).toEqual([
      ["insights", "tokensOut"],
    ]);
  });
});

describe("other factory inputs", () => {
  it("ClaimInput defaults to one job and caps at 32", () => {
    expect(ClaimInput.parse({ factoryId: "factory-1" })).toEqual({ factoryId: "factory-1", max: 1 });
    expect(rejectedAt(ClaimInput, { factoryId: "factory-1", max: 33 })).toEqual([["max"]]);
  });

  it("ReleaseInput defaults its reason", () => {
    expect(ReleaseInput.parse(fence).reason).toBe("released");
  });

  it("HeartbeatInput checks the load", () => {
    const heartbeat = { factoryId: "factory-1", load: { running: 1, jobIds: ["job-1"] }, health: { ok: true } };
    expect(HeartbeatInput.parse(heartbeat)).toEqual(heartbeat);
    expect(rejectedAt(HeartbeatInput, { ...heartbeat, load: { running: -1 } })).toEqual([["load", "running"]]);
  });

  it("ArtifactPutMeta defaults the content type and refuses a path as a name", () => {
    expect(ArtifactPutMeta.parse({ ...fence, runId: "run-1", name: "diff.patch" }).contentType).toBe(
      "application/octet-stream",
    );
    expect(rejectedAt(ArtifactPutMeta, { ...fence, runId: "run-1", name: "../x" })).toEqual([["name"]]);
  });

  it("FactoryMessage tells the messages apart", () => {
    expect(FactoryMessage.parse({ type: "cancel", jobId: "job-1", epoch: 2 })).toEqual({
      type: "cancel",
      jobId: "job-1",
      epoch: 2,
    });
    expect(FactoryMessage.parse({ type: "drain" })).toEqual({ type: "drain" });
    expect(rejectedAt(FactoryMessage, { type: "cancel", jobId: "job-1" })).toEqual([["epoch"]]);
    expect(rejectedAt(FactoryMessage, { type: "explode" })).toEqual([["type"]]);
  });
});
