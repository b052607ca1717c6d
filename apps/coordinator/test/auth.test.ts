import type { ClaimedJob } from "@gigafactory/schema";
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appRouter } from "../src/trpc/router.js";
import { type TestClient, codeOf, rejection } from "./support/client.js";
import { Harness, claimOne, createJob, fenceOf, registerFactory } from "./support/harness.js";

/** Resolves with a subscription's first message, rejects with its error, then unsubscribes. */
function subscribeOnce(
  start: (handlers: { onData: (value: unknown) => void; onError: (error: unknown) => void }) => { unsubscribe(): void },
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let sub: { unsubscribe(): void } | undefined;
    const settle = (finish: () => void) => {
      finish();
      setImmediate(() => sub?.unsubscribe());
    };
    sub = start({ onData: (value) => settle(() => resolve(value)), onError: (error) => settle(() => reject(error)) });
  });
}

type Role = "service" | "factory" | "admin";
type Expected = "NOT_FOUND" | "FORBIDDEN" | "FENCED";

/** Product A's schedule: yearly, so it fires nothing while the matrix runs. */
const authSchedule = { id: "auth-sched", specs: [{ cron: "0 0 1 1 *" }], job: { bodyMd: "echo hi" } };
const scheduleRows = (): Record<string, Row> => {
  const row = (call: Row["call"], otherProduct: Row["otherProduct"] = "NOT_FOUND"): Row => ({
    allowed: ["service", "admin"],
    otherProduct,
    call,
  });
  const id = authSchedule.id;
  return {
    "schedules.create": row((c) => c.trpc.schedules.create.mutate(authSchedule), "own"),
    "schedules.update": row((c) => c.trpc.schedules.update.mutate({ ...authSchedule, overlap: "allowAll" })),
    "schedules.get": row((c) => c.trpc.schedules.get.query({ id })),
    "schedules.list": row((c) => c.trpc.schedules.list.query({}), "own"),
    "schedules.pause": row((c) => c.trpc.schedules.pause.mutate({ id })),
    "schedules.resume": row((c) => c.trpc.schedules.resume.mutate({ id })),
    "schedules.delete": row((c) => c.trpc.schedules.delete.mutate({ id })),
    "schedules.trigger": row((c) => c.trpc.schedules.trigger.mutate({ id })),
    "schedules.backfill": row((c) =>
      c.trpc.schedules.backfill.mutate({ id, from: new Date("2026-01-01"), to: new Date("2026-01-02") }),
    ),
  };
};

const hashOf = (token: string) => createHash("sha256").update(token).digest("hex");

interface Row {
  /** The lowest role allowed to call it; the others are the "wrong role". */
  allowed: Role[];
  call: (client: TestClient) => Promise<unknown>;
  /**
   * What a caller with the right role but another product's token gets, aimed at product A's
   * things. `own`: the call acts on the caller's own product by design (create, register,
   * list...), so there is nothing of A to refuse; those are checked for leaks separately.
   */
  otherProduct: Expected | "own";
}

describe("the auth matrix: every procedure, three kinds of wrong caller", () => {
  let h: Harness;
  const a = {} as {
    service: TestClient;
    factory: TestClient;
    factoryId: string;
    job: string;
    claimed: ClaimedJob;
    failedJob: string;
    reviewJob: string;
    artifactId: string;
  };
  const b = {} as { service: TestClient; factory: TestClient; admin: TestClient };
  let anonymous: TestClient;

  beforeAll(async () => {
    // long leases and heartbeats: nothing may change under the before/after comparison
    h = await Harness.start("auth", { env: { GF_LEASE_TTL: "1h", GF_FACTORY_GONE_AFTER: "1h" } });
    a.service = await h.as("service");
    a.factory = await h.as("factory");
    b.service = await h.as("service", "other-product");
    b.factory = await h.as("factory", "other-product");
    b.admin = await h.as("admin", "other-product");
    anonymous = h.client(undefined);

    a.factoryId = await registerFactory(a.factory, { factoryId: "factory-a" });
    await a.service.trpc.profiles.publish.mutate({ name: "reviewer", snapshot: { persona: "strict" } });
    await a.service.trpc.schedules.create.mutate(authSchedule);
    const failed = await createJob(a.service, { maxAttempts: 1, priority: 30 });
    const review = await createJob(a.service, { review: { mode: "human" }, priority: 20 });
    const job = await createJob(a.service, { priority: 10 });
    const toFail = await claimOne(a.factory, a.factoryId);
    await a.factory.trpc.factory.complete.mutate({ ...fenceOf(toFail, a.factoryId), result: "failure" });
    const toReview = await claimOne(a.factory, a.factoryId);
    await a.factory.trpc.factory.complete.mutate({ ...fenceOf(toReview, a.factoryId), result: "success" });
    a.claimed = await claimOne(a.factory, a.factoryId);
    expect([toFail.job._id, toReview.job._id, a.claimed.job._id]).toEqual([failed._id, review._id, job._id]);
    a.failedJob = failed._id;
    a.reviewJob = review._id;
    a.job = job._id;
    const upload = await fetch(
      `${h.url}/artifacts?${new URLSearchParams({ ...stringify(fenceOf(a.claimed, a.factoryId)), runId: a.claimed.runId, name: "build.log" })}`,
      {
        method: "PUT",
        headers: { authorization: `Bearer ${a.factory.token}` },
        body: "log bytes",
      },
    );
    expect(upload.status).toBe(201);
    a.artifactId = ((await upload.json()) as { _id: string })._id;
  });
  afterAll(() => h?.close());

  const fence = () => fenceOf(a.claimed, a.factoryId);
  const rows = (): Record<string, Row> => ({
    "jobs.create": {
      allowed: ["service", "admin"],
      otherProduct: "own",
      call: (c) => c.trpc.jobs.create.mutate({ bodyMd: "x", idempotencyKey: "auth-matrix" }),
    },
    "jobs.get": {
      allowed: ["service", "admin"],
      otherProduct: "NOT_FOUND",
      call: (c) => c.trpc.jobs.get.query({ jobId: a.job }),
    },
    "jobs.list": {
      allowed: ["service", "admin"],
      otherProduct: "FORBIDDEN",
      call: (c) => c.trpc.jobs.list.query({ productId: "default" }),
    },
    "jobs.cancel": {
      allowed: ["service", "admin"],
      otherProduct: "NOT_FOUND",
      call: (c) => c.trpc.jobs.cancel.mutate({ jobId: a.job }),
    },
    "jobs.retry": {
      allowed: ["service", "admin"],
      otherProduct: "NOT_FOUND",
      call: (c) => c.trpc.jobs.retry.mutate({ jobId: a.failedJob }),
    },
    "jobs.seal": {
      allowed: ["service", "admin"],
      otherProduct: "NOT_FOUND",
      call: (c) => c.trpc.jobs.seal.mutate({ jobId: a.job }),
    },
    "jobs.approve": {
      allowed: ["service", "admin"],
      otherProduct: "NOT_FOUND",
      call: (c) => c.trpc.jobs.approve.mutate({ jobId: a.reviewJob }),
    },
    "jobs.reject": {
      allowed: ["service", "admin"],
      otherProduct: "NOT_FOUND",
      call: (c) => c.trpc.jobs.reject.mutate({ jobId: a.reviewJob }),
    },
    "jobs.runs": {
      allowed: ["service", "admin"],
      otherProduct: "NOT_FOUND",
      call: (c) => c.trpc.jobs.runs.query({ jobId: a.job }),
    },
    "jobs.events": {
      allowed: ["service", "admin"],
      otherProduct: "NOT_FOUND",
      call: (c) => c.trpc.jobs.events.query({ jobId: a.job }),
    },
    "jobs.watch": {
      allowed: ["service", "admin"],
      otherProduct: "NOT_FOUND",
      call: (c) => subscribeOnce((handlers) => c.trpc.jobs.watch.subscribe({ jobId: a.job }, handlers)),
    },
    "jobs.feed": {
      allowed: ["service", "admin"],
      otherProduct: "own",
      call: (c) => subscribeOnce((handlers) => c.trpc.jobs.feed.subscribe({}, handlers)),
    },
    "factory.register": {
      allowed: ["factory"],
      otherProduct: "own",
      call: (c) =>
        c.trpc.factory.register.mutate({
          factoryId: "factory-a",
          descriptor: { host: "evil", pid: 1, os: "linux", version: "x" },
          capabilities: ["everything"],
          engines: ["shell"],
          seatLimit: 256,
        }),
    },
    "factory.heartbeat": {
      allowed: ["factory"],
      otherProduct: "NOT_FOUND",
      call: (c) =>
        c.trpc.factory.heartbeat.mutate({
          factoryId: a.factoryId,
          load: { running: 0, jobIds: [] },
          health: { ok: false },
        }),
    },
    "factory.claim": {
      allowed: ["factory"],
      otherProduct: "NOT_FOUND",
      call: (c) => c.trpc.factory.claim.mutate({ factoryId: a.factoryId, max: 5 }),
    },
    // a factory write names its job by fence; another product's job is simply not held: FENCED
    "factory.renew": {
      allowed: ["factory"],
      otherProduct: "FENCED",
      call: (c) => c.trpc.factory.renew.mutate(fence()),
    },
    "factory.advance": {
      allowed: ["factory"],
      otherProduct: "FENCED",
      call: (c) => c.trpc.factory.advance.mutate({ ...fence(), to: "testing" }),
    },
    "factory.appendEvents": {
      allowed: ["factory"],
      otherProduct: "FENCED",
      call: (c) =>
        c.trpc.factory.appendEvents.mutate({ ...fence(), events: [{ type: "log", data: { line: "intruder" } }] }),
    },
    "factory.checkpoint": {
      allowed: ["factory"],
      otherProduct: "FENCED",
      call: (c) =>
        c.trpc.factory.checkpoint.mutate({
          ...fence(),
          checkpoint: { wipBranch: "x", wipBase: "0a1b2c3", wipCommit: "abcdef1" },
        }),
    },
    "factory.complete": {
      allowed: ["factory"],
      otherProduct: "FENCED",
      call: (c) => c.trpc.factory.complete.mutate({ ...fence(), result: "success" }),
    },
    "factory.release": {
      allowed: ["factory"],
      otherProduct: "FENCED",
      call: (c) => c.trpc.factory.release.mutate(fence()),
    },
    "factory.connect": {
      allowed: ["factory"],
      otherProduct: "NOT_FOUND",
      call: (c) => subscribeOnce((handlers) => c.trpc.factory.connect.subscribe({ factoryId: a.factoryId }, handlers)),
    },
    "profiles.publish": {
      allowed: ["service", "admin"],
      otherProduct: "own",
      call: (c) => c.trpc.profiles.publish.mutate({ name: "reviewer", snapshot: { persona: "lenient" } }),
    },
    "profiles.get": {
      allowed: ["service", "admin"],
      otherProduct: "NOT_FOUND",
      call: (c) => c.trpc.profiles.get.query({ name: "reviewer" }),
    },
    "profiles.list": {
      allowed: ["service", "admin"],
      otherProduct: "own",
      call: (c) => c.trpc.profiles.list.query({}),
    },
    ...scheduleRows(),
    "artifacts.list": {
      allowed: ["service", "admin"],
      otherProduct: "NOT_FOUND",
      call: (c) => c.trpc.artifacts.list.query({ jobId: a.job }),
    },
    "artifacts.get": {
      allowed: ["service", "admin"],
      otherProduct: "NOT_FOUND",
      call: (c) => c.trpc.artifacts.get.query({ artifactId: a.artifactId }),
    },
    "dashboard.whoami": {
      allowed: ["service", "admin", "factory"],
      otherProduct: "own",
      call: (c) => c.trpc.dashboard.whoami.query(),
    },
    "dashboard.overview": {
      allowed: ["service", "admin"],
      otherProduct: "own",
      call: (c) => c.trpc.dashboard.overview.query(),
    },
    "dashboard.factories": {
      allowed: ["service", "admin"],
      otherProduct: "own",
      call: (c) => c.trpc.dashboard.factories.query(),
    },
    "dashboard.searchJobs": {
      allowed: ["service", "admin"],
      otherProduct: "own",
      call: (c) => c.trpc.dashboard.searchJobs.query({ text: a.job }),
    },
    "admin.factories": { allowed: ["admin"], otherProduct: "own", call: (c) => c.trpc.admin.factories.query({}) },
    "admin.drain": {
      allowed: ["admin"],
      otherProduct: "NOT_FOUND",
      call: (c) => c.trpc.admin.drain.mutate({ factoryId: a.factoryId }),
    },
    "admin.revokeFactory": {
      allowed: ["admin"],
      otherProduct: "NOT_FOUND",
      call: (c) => c.trpc.admin.revokeFactory.mutate({ factoryId: a.factoryId }),
    },
    "admin.requeue": {
      allowed: ["admin"],
      otherProduct: "NOT_FOUND",
      call: (c) => c.trpc.admin.requeue.mutate({ jobId: a.failedJob }),
    },
    "admin.insights": { allowed: ["admin"], otherProduct: "own", call: (c) => c.trpc.admin.insights.query({}) },
    "admin.status": { allowed: ["admin"], otherProduct: "own", call: (c) => c.trpc.admin.status.query({}) },
    "admin.createToken": {
      allowed: ["admin"],
      otherProduct: "own",
      call: (c) => c.trpc.admin.createToken.mutate({ role: "admin" }),
    },
    "admin.tokens": { allowed: ["admin"], otherProduct: "own", call: (c) => c.trpc.admin.tokens.query({}) },
    "admin.setPolicy": {
      allowed: ["admin"],
      otherProduct: "own",
      call: (c) => c.trpc.admin.setPolicy.mutate({ policy: { engines: ["shell"] } }),
    },
    "admin.policy": { allowed: ["admin"], otherProduct: "own", call: (c) => c.trpc.admin.policy.query({}) },
    // imports into the caller's own product; the right caller is not run here (it would call a tracker)
    "tracker.importItem": {
      allowed: ["service", "admin"],
      otherProduct: "own",
      call: (c) => c.trpc.tracker.importItem.mutate({ ref: "items:T-1" }),
    },
    "tracker.echo": {
      allowed: ["service", "admin"],
      otherProduct: "NOT_FOUND",
      call: (c) => c.trpc.tracker.echo.mutate({ jobId: a.job }),
    },
    "admin.revokeToken": {
      allowed: ["admin"],
      otherProduct: "NOT_FOUND",
      call: (c) => c.trpc.admin.revokeToken.mutate({ tokenId: hashOf(a.service.token ?? "") }),
    },
  });

  const snapshotA = () =>
    Promise.all([
      h.counts(),
      h.db.collection("jobs").find({ productId: "default" }).sort({ _id: 1 }).toArray(),
      h.db
        .collection("factories")
        .find({ productId: "default" }, { projection: { lastHeartbeatAt: 0 } })
        .toArray(),
      h.db.collection("profiles").find({}).toArray(),
      h.db.collection("schedules").find({}).toArray(),
    ]);

  it("the matrix covers every procedure of the router", () => {
    expect(Object.keys(rows()).sort()).toEqual(Object.keys(appRouter._def.procedures).sort());
  });

  it("no token → UNAUTHORIZED; wrong role → FORBIDDEN; another product's token → refused; nothing written", {
    timeout: 120_000,
  }, async () => {
    const before = await snapshotA();
    const clientFor = { service: a.service, factory: a.factory, admin: h.admin };
    const outcomes: Array<{ path: string; caller: string; code: unknown; reason?: unknown }> = [];
    const expected: typeof outcomes = [];

    for (const [path, row] of Object.entries(rows())) {
      outcomes.push({ path, caller: "no token", code: codeOf(await rejection(row.call(anonymous))).code });
      expected.push({ path, caller: "no token", code: "UNAUTHORIZED" });

      for (const role of (["service", "factory", "admin"] as const).filter((r) => !row.allowed.includes(r))) {
        outcomes.push({ path, caller: `role ${role}`, code: codeOf(await rejection(row.call(clientFor[role]))).code });
        expected.push({ path, caller: `role ${role}`, code: "FORBIDDEN" });
      }

      if (row.otherProduct !== "own") {
        const intruder = row.allowed.includes("factory")
          ? b.factory
          : row.allowed.includes("service")
            ? b.service
            : b.admin;
        const { code, reason } = codeOf(await rejection(row.call(intruder)));
        outcomes.push({ path, caller: "other product", code, reason });
        expected.push(
          row.otherProduct === "FENCED"
            ? { path, caller: "other product", code: "CONFLICT", reason: "FENCED" }
            : { path, caller: "other product", code: row.otherProduct, reason: undefined },
        );
      }
    }
    expect(outcomes).toEqual(expected);
    expect(await snapshotA()).toEqual(before);
  });

  it("another product's own-product calls see nothing of product A", async () => {
    expect((await b.service.trpc.jobs.list.query({})).items).toEqual([]);
    expect(await b.service.trpc.profiles.list.query({})).toEqual([]);
    expect(await b.admin.trpc.admin.factories.query({})).toEqual([]);
    expect((await b.admin.trpc.admin.insights.query({})).runsByResult).toEqual({});
    // an admin may look at another product only by naming it
    expect((await b.admin.trpc.admin.factories.query({ productId: "default" })).map((f) => f.factoryId)).toEqual([
      a.factoryId,
    ]);
    // a service may not name another product
    expect(codeOf(await rejection(b.service.trpc.jobs.list.query({ productId: "default" }))).code).toBe("FORBIDDEN");
  });

  it("artifact bytes: no token 401, wrong role 403, another product 404/409; nothing written", async () => {
    const before = await snapshotA();
    const download = (token?: string) =>
      fetch(`${h.url}/artifacts/${a.artifactId}/content`, {
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });
    const upload = (token?: string) =>
      fetch(
        `${h.url}/artifacts?${new URLSearchParams({ ...stringify(fence()), runId: a.claimed.runId, name: "intruder.log" })}`,
        {
          method: "PUT",
          headers: token ? { authorization: `Bearer ${token}` } : {},
          body: "intruder bytes",
        },
      );
    expect((await download()).status).toBe(401);
    expect((await download("gf_admin_not-a-real-token")).status).toBe(401);
    expect((await download(a.factory.token)).status).toBe(403);
    expect((await download(b.service.token)).status).toBe(404);
    expect((await upload()).status).toBe(401);
    expect((await upload(a.service.token)).status).toBe(403);
    expect((await upload(h.coordinator.adminToken)).status).toBe(403);
    const cross = await upload(b.factory.token);
    expect(cross.status).toBe(409);
    expect(await cross.json()).toMatchObject({ reason: "FENCED" });
    expect(await snapshotA()).toEqual(before);
    // and the rightful owner can still read it
    const ok = await download(a.service.token);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe("log bytes");
  });

  it("a revoked token is refused from then on; listing shows it revoked and never the secret", async () => {
    const spare = await h.admin.trpc.admin.createToken.mutate({ role: "service", name: "spare" });
    const client = h.client(spare.token);
    expect((await client.trpc.jobs.list.query({})).items.length).toBeGreaterThan(0);
    const revoked = await h.admin.trpc.admin.revokeToken.mutate({ tokenId: hashOf(spare.token) });
    expect(revoked).toMatchObject({ role: "service", name: "spare" });
    expect(revoked.revokedAt).toBeInstanceOf(Date);
    expect(codeOf(await rejection(client.trpc.jobs.list.query({}))).code).toBe("UNAUTHORIZED");
    const listed = await h.admin.trpc.admin.tokens.query({});
    expect(listed.find((token) => token.tokenId === hashOf(spare.token))?.revokedAt).toBeInstanceOf(Date);
    expect(JSON.stringify(listed)).not.toContain(spare.token);
  });
});

function stringify(record: Record<string, string | number>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [key, String(value)]));
}
