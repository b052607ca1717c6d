import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { JOB_LIMITS } from "../job.js";
import { JobCancelInput, JobCreateInput, JobEventsInput, JobListInput, JobWatchInput } from "./jobs.js";

function rejected(schema: z.ZodType, value: unknown) {
  const result = schema.safeParse(value);
  if (result.success) throw new Error(`expected ${JSON.stringify(value).slice(0, 200)} to be rejected`);
  return result.error.issues;
}

/** Distinct issue paths: an empty string can break two rules at the same path. */
const rejectedAt = (schema: z.ZodType, value: unknown) => {
  const paths = rejected(schema, value).map((issue) => JSON.stringify(issue.path));
  return [...new Set(paths)].map((path) => JSON.parse(path) as PropertyKey[]);
};

describe("JobCreateInput", () => {
  it("applies the defaults to a body-only input", () => {
    expect(JobCreateInput.parse({ bodyMd: "echo hi\n" })).toEqual({
      bodyMd: "echo hi\n",
      engine: "shell",
      priority: 0,
      capabilities: [],
      deps: [],
      depsMode: "all",
      kind: "leaf",
      verify: [],
      review: { mode: "none" },
      manifest: {},
    });
  });

  it("keeps every given field and coerces notBefore", () => {
    const input = {
      idempotencyKey: "tracker-T-1",
      title: "Slice 4",
      bodyMd: "ROLE: engineer.\n",
      engine: "claude-code",
      engineClass: "agentic-coder",
      profile: { name: "backend-engineer", version: 2 },
      priority: 10,
      capabilities: ["os:linux"],
      deps: ["job-0"],
      depsMode: "any",
      parentId: "job-parent",
      kind: "composite",
      lock: "devops-tools",
      timeoutMs: 10_800_000,
      maxAttempts: 2,
      notBefore: "2026-01-02T03:04:05Z",
      verify: ["pnpm test"],
      review: { mode: "human" },
      repo: "git@example.com:acme/app.git",
      baseRef: "main",
      cwd: "/srv/app",
      trackerItemId: "T-1",
      manifest: { yolo: true },
    } as const;
    expect(JobCreateInput.parse(input)).toEqual({ ...input, notBefore: new Date("2026-01-02T03:04:05Z") });
  });

  it("accepts a profile without a version (the newest is pinned later)", () => {
    expect(JobCreateInput.parse({ bodyMd: "x", profile: { name: "reviewer" } }).profile).toEqual({ name: "reviewer" });
  });

  it("refuses an unknown key, naming it", () => {
    const [issue, ...more] = rejected(JobCreateInput, { bodyMd: "x", yolo: true });
    expect(more).toEqual([]);
    expect(issue?.code).toBe("unrecognized_keys");
    expect(issue && "keys" in issue ? issue.keys : []).toEqual(["yolo"]);
  });

  it("refuses an unknown key inside profile at profile", () => {
    expect(rejectedAt(JobCreateInput, { bodyMd: "x", profile: { name: "a", latest: true } })).toEqual([["profile"]]);
  });

  it("refuses a missing body", () => {
    expect(rejectedAt(JobCreateInput, { engine: "shell" })).toEqual([["bodyMd"]]);
  });

  it("accepts a body of exactly the byte limit and refuses one byte more", () => {
    expect(JobCreateInput.safeParse({ bodyMd: "x".repeat(JOB_LIMITS.bodyMdMaxBytes) }).success).toBe(true);
    expect(rejectedAt(JobCreateInput, { bodyMd: "x".repeat(JOB_LIMITS.bodyMdMaxBytes + 1) })).toEqual([["bodyMd"]]);
  });

  it("counts the body limit in UTF-8 bytes", () => {
    // fewer characters than the limit, more bytes
    const body = "é".repeat(JOB_LIMITS.bodyMdMaxBytes / 2 + 1);
    expect(body.length).toBeLessThan(JOB_LIMITS.bodyMdMaxBytes);
    expect(rejectedAt(JobCreateInput, { bodyMd: body })).toEqual([["bodyMd"]]);
  });

  it.each([
    [{ priority: 1_001 }, ["priority"]],
    [{ priority: 1.5 }, ["priority"]],
    [{ timeoutMs: 0 }, ["timeoutMs"]],
    [{ timeoutMs: JOB_LIMITS.maxTimeoutMs + 1 }, ["timeoutMs"]],
    [{ maxAttempts: JOB_LIMITS.maxAttempts + 1 }, ["maxAttempts"]],
    [{ depsMode: "some" }, ["depsMode"]],
    [{ kind: "tree" }, ["kind"]],
    [{ review: { mode: "later" } }, ["review", "mode"]],
    [{ notBefore: "not a date" }, ["notBefore"]],
    [{ capabilities: Array.from({ length: JOB_LIMITS.maxCapabilities + 1 }, (_, i) => `cap${i}`) }, ["capabilities"]],
    [{ parentId: "a b" }, ["parentId"]],
    [{ manifest: ["not", "a", "map"] }, ["manifest"]],
  ])("refuses %j at the field", (patch, path) => {
    expect(rejectedAt(JobCreateInput, { bodyMd: "x", ...patch })).toEqual([path]);
  });
});

describe("JobListInput", () => {
  it("defaults the limit and takes one stage or several", () => {
    expect(JobListInput.parse({})).toEqual({ limit: 50 });
    expect(JobListInput.parse({ stage: "inbox" }).stage).toBe("inbox");
    expect(JobListInput.parse({ stage: ["building", "review"], limit: 200, cursor: "eyJz-_9" })).toEqual({
      stage: ["building", "review"],
      limit: 200,
      cursor: "eyJz-_9",
    });
  });

  it.each(["not/base64url", "a=b", "with space", ""])("refuses the malformed cursor %j at cursor", (cursor) => {
    expect(rejectedAt(JobListInput, { cursor })).toEqual([["cursor"]]);
  });

  it("refuses a bad stage, alone or in a list, at stage", () => {
    expect(rejectedAt(JobListInput, { stage: "done" })).toEqual([["stage"]]);
    expect(rejectedAt(JobListInput, { stage: ["inbox", "done"] })).toEqual([["stage"]]);
  });

  it("refuses a limit out of range and an unknown key", () => {
    expect(rejectedAt(JobListInput, { limit: 0 })).toEqual([["limit"]]);
    expect(rejectedAt(JobListInput, { limit: 201 })).toEqual([["limit"]]);
    expect(rejected(JobListInput, { sort: "asc" })[0]?.code).toBe("unrecognized_keys");
  });
});

describe("other job inputs", () => {
  it("JobEventsInput pages after a seq with defaults", () => {
    expect(JobEventsInput.parse({ jobId: "job-1" })).toEqual({ jobId: "job-1", afterSeq: 0, limit: 200 });
    expect(rejectedAt(JobEventsInput, { jobId: "job-1", afterSeq: -1 })).toEqual([["afterSeq"]]);
  });

  it("JobWatchInput takes a numeric last event id or none", () => {
    expect(JobWatchInput.parse({ jobId: "job-1", lastEventId: "17" }).lastEventId).toBe("17");
    expect(JobWatchInput.parse({ jobId: "job-1", lastEventId: null }).lastEventId).toBeNull();
    expect(rejectedAt(JobWatchInput, { jobId: "job-1", lastEventId: "17a" })).toEqual([["lastEventId"]]);
  });

  it("JobCancelInput needs a job id", () => {
    expect(JobCancelInput.parse({ jobId: "job-1", reason: "no longer needed" }).reason).toBe("no longer needed");
    expect(rejectedAt(JobCancelInput, { reason: "x" })).toEqual([["jobId"]]);
  });
});
