import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { Checkpoint, Job, Lease } from "./job.js";

/** The issue paths of a value the schema must refuse. */
function rejectedAt(schema: z.ZodType, value: unknown): PropertyKey[][] {
  const result = schema.safeParse(value);
  if (result.success) throw new Error(`expected ${JSON.stringify(value)} to be rejected`);
  return result.error.issues.map((issue) => issue.path);
}

const now = new Date("2026-01-02T03:04:05Z");

const lease: Lease = { holder: "factory-1", epoch: 3, expiresAt: now, renewals: 2, runId: "run-1" };

const job: Job = {
  _id: "job-1",
  productId: "acme",
  idempotencyKey: "tracker-T-1",
  title: "Fleet data model",
  stage: "building",
  priority: 10,
  capabilities: ["os:linux", "gpu"],
  engine: "claude-code",
  engineClass: "agentic-coder",
  profile: { name: "backend-engineer", version: 2 },
  bodyMd: "ROLE: Senior engineer.\n",
  manifest: { engine: "claude-code", yolo: true, timeout: "4h" },
  deps: ["job-0"],
  depsMode: "all",
  pendingDeps: [],
  parentId: "job-parent",
  kind: "leaf",
  lock: "common-plat",
  timeoutMs: 14_400_000,
  maxAttempts: 3,
  attempt: 1,
  notBefore: now,
  checkpoint: { wipBranch: "gf/wip/job-1", wipBase: "0a1b2c3", wipCommit: "0123abc" },
  verify: ["pnpm test"],
  review: { mode: "engine", engine: "codex", profile: "reviewer" },
  awaitingApproval: false,
  repo: "git@example.com:acme/app.git",
  baseRef: "main",
  cwd: "/srv/app",
  trackerItemId: "T-1",
  lease,
  eventSeq: 12,
  cancelRequested: false,
  lastResult: "failure",
  createdAt: now,
  updatedAt: now,
  queuedAt: now,
};

describe("Job", () => {
  it("parses a full document and keeps every value", () => {
    expect(Job.parse(job)).toEqual(job);
  });

  it("parses an inbox job without the optional fields and with nobody holding it", () => {
    const {
      engineClass,
      profile,
      parentId,
      lock,
      checkpoint,
      repo,
      baseRef,
      cwd,
      trackerItemId,
      lastResult,
      ...minimal
    } = job;
    const inbox = {
      ...minimal,
      stage: "inbox",
      lease: { holder: null, epoch: 0, expiresAt: null, renewals: 0, runId: null },
    };
    expect(Job.parse(inbox)).toEqual(inbox);
  });

  it("refuses a negative lease epoch at lease.epoch", () => {
    expect(rejectedAt(Job, { ...job, lease: { ...lease, epoch: -1 } })).toEqual([["lease", "epoch"]]);
  });

  it("refuses a fractional lease epoch", () => {
    expect(rejectedAt(Job, { ...job, lease: { ...lease, epoch: 1.5 } })).toEqual([["lease", "epoch"]]);
  });

  it("refuses an unknown stage at stage", () => {
    expect(rejectedAt(Job, { ...job, stage: "done" })).toEqual([["stage"]]);
  });

  it("refuses a missing productId at productId", () => {
    const { productId, ...rest } = job;
    expect(rejectedAt(Job, rest)).toEqual([["productId"]]);
  });

  it("refuses a bad capability label at its index", () => {
    expect(rejectedAt(Job, { ...job, capabilities: ["os:linux", "has space"] })).toEqual([["capabilities", 1]]);
  });

  it("refuses an upper-case engine id", () => {
    expect(rejectedAt(Job, { ...job, engine: "Claude" })).toEqual([["engine"]]);
  });

  it("refuses an unknown kind and depsMode", () => {
    expect(rejectedAt(Job, { ...job, kind: "tree", depsMode: "some" })).toEqual([["depsMode"], ["kind"]]);
  });

  it("refuses a non-positive timeout and a title over the limit", () => {
    expect(rejectedAt(Job, { ...job, timeoutMs: 0, title: "x".repeat(201) })).toEqual([["title"], ["timeoutMs"]]);
  });

  it("refuses a date given as a string (documents hold real dates)", () => {
    expect(rejectedAt(Job, { ...job, createdAt: now.toISOString() })).toEqual([["createdAt"]]);
  });

  it("refuses a job id with a slash", () => {
    expect(rejectedAt(Job, { ...job, _id: "a/b" })).toEqual([["_id"]]);
  });
});

describe("Lease", () => {
  it("parses a held and a free lease", () => {
    expect(Lease.parse(lease)).toEqual(lease);
    expect(Lease.parse({ holder: null, epoch: 0, expiresAt: null, renewals: 0, runId: null }).holder).toBeNull();
  });

  it("refuses a negative epoch and negative renewals", () => {
    expect(rejectedAt(Lease, { ...lease, epoch: -1, renewals: -1 })).toEqual([["epoch"], ["renewals"]]);
  });

  it("refuses a missing holder (it must be null, not absent)", () => {
    const { holder, ...rest } = lease;
    expect(rejectedAt(Lease, rest)).toEqual([["holder"]]);
  });
});

describe("Checkpoint", () => {
  const checkpoint = {
    wipBranch: "gf/wip/job-1",
    wipBase: "0a1b2c3",
    wipCommit: "0123456789abcdef0123456789abcdef01234567",
  };

  it("parses a WIP commit", () => {
    expect(Checkpoint.parse(checkpoint)).toEqual(checkpoint);
  });

  it.each(["xyz1234", "ABCDEF1", "abc", ""])("refuses the commit %j at wipCommit", (wipCommit) => {
    expect(rejectedAt(Checkpoint, { ...checkpoint, wipCommit })).toEqual([["wipCommit"]]);
  });

  it.each(["main", "--output=/tmp/x", "-p", "HEAD~1", "0a1b2c3 --output=x", "0".repeat(65), "abc"])(
    "refuses %j at wipBase: a commit id only, nothing git could read as an option or ref",
    (wipBase) => {
      expect(rejectedAt(Checkpoint, { ...checkpoint, wipBase })).toEqual([["wipBase"]]);
    },
  );

  it("takes a full SHA-256 commit id at wipBase and wipCommit", () => {
    const sha256 = "0123456789abcdef".repeat(4);
    expect(Checkpoint.parse({ ...checkpoint, wipBase: sha256, wipCommit: sha256 })).toMatchObject({ wipBase: sha256 });
  });

  it("refuses an empty branch", () => {
    expect(rejectedAt(Checkpoint, { ...checkpoint, wipBranch: "" })).toEqual([["wipBranch"]]);
  });
});
