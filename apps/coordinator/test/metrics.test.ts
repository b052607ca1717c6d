import type { SpawnedCoordinator } from "@gigafactory/coordinator/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codeOf, rejection } from "./support/client.js";
import { type Sample, parseExposition, scrape, sampleSum } from "./support/exposition.js";
import { Harness, claimOne, createJob, fenceOf, poll, registerFactory } from "./support/harness.js";

const METRICS_TOKEN = "scrape-secret-0123456789";
const STAGES = ["inbox", "building", "review", "testing", "shipped", "failed", "cancelled"];

/**
 * Two coordinators on one database, as a fleet runs them: `long` leases for an hour, `short` for
 * 1s (so a lease it grants is taken back). Counters count what each coordinator decided, so the
 * fleet's total is the sum of both scrapes; gauges are read from MongoDB, so both agree.
 */
describe("GET /metrics after known work", () => {
  let h: Harness;
  let short: SpawnedCoordinator;
  beforeAll(async () => {
    const env = { GF_METRICS_TOKEN: METRICS_TOKEN, GF_BACKOFF_BASE: "100ms" };
    h = await Harness.start("metrics", { env: { ...env, GF_LEASE_TTL: "1h" } });
    short = await h.second({ ...env, GF_LEASE_TTL: "1s" });
  });
  afterAll(() => h?.close());

  const fleetScrape = async (): Promise<Sample[][]> => {
    const scrapes = await Promise.all([h.url, short.url].map((url) => scrape(url, METRICS_TOKEN)));
    for (const { status } of scrapes) expect(status).toBe(200);
    return scrapes.map(({ text }) => parseExposition(text));
  };
  const total = (scrapes: Sample[][], name: string, labels: Record<string, string> = {}) =>
    scrapes.reduce((sum, samples) => sum + sampleSum(samples, name, labels), 0);

  it("shows every stage at 0 and no queue when idle", async () => {
    const [samples] = await fleetScrape();
    for (const stage of STAGES)
      expect(samples?.find((s) => s.name === "gigafactory_jobs" && s.labels.stage === stage)?.value).toBe(0);
    expect(sampleSum(samples ?? [], "gigafactory_queue_oldest_age_seconds")).toBe(0);
    expect(sampleSum(samples ?? [], "gigafactory_seats", { state: "used" })).toBe(0);
    expect(sampleSum(samples ?? [], "gigafactory_jobs_created_total")).toBe(0);
    // default process metrics are there too
    expect(samples?.some((s) => s.name === "process_cpu_user_seconds_total")).toBe(true);
  });

  it("counts 4 created, 3 shipped, 1 failed, one lost lease and one fenced write exactly", async () => {
    const service = await h.as("service");
    const factoryToken = await h.token("factory");
    const viaLong = h.client(factoryToken);
    const viaShort = h.client(factoryToken, short.url);
    const a = await registerFactory(viaLong, { factoryId: "metrics-a" });
    const b = await registerFactory(viaLong, { factoryId: "metrics-b" });

    // two shipped (one reporting token usage) and one failed, all through `long`
    for (const [result, insights] of [
      ["success", { model: "m-1", tokensIn: 100, tokensOut: 20, tokensCached: 5, costUsd: 0.25 }],
      ["success", {}],
      ["failure", {}],
    ] as const) {
      await createJob(service, { maxAttempts: 1 });
      const claimed = await claimOne(viaLong, a);
      await viaLong.trpc.factory.complete.mutate({ ...fenceOf(claimed, a), result, insights });
    }

    // one lease lost: claimed through `short` (1s lease), never renewed, taken back by a reaper
    const lostJob = await createJob(service, { maxAttempts: 2 });
    const first = await claimOne(viaShort, a);
    expect(first.job._id).toBe(lostJob._id);
    await poll(
      async () =>
        (await service.trpc.jobs.events.query({ jobId: lostJob._id })).items.some((event) => event.type === "lost"),
      { what: "the reaper to take the lease back", tries: 400 },
    );
    const second = await claimOne(viaLong, b);
    expect(second.job._id).toBe(lostJob._id);
    // one fenced write: the old holder speaks after the takeover
    const refused = await rejection(
      viaLong.trpc.factory.appendEvents.mutate({
        ...fenceOf(first, a),
        events: [{ type: "log", data: { line: "x" } }],
      }),
    );
    expect(codeOf(refused)).toEqual({ code: "CONFLICT", reason: "FENCED" });
    await viaLong.trpc.factory.complete.mutate({ ...fenceOf(second, b), result: "success" });

    // gauges are cached a few seconds: wait (bounded) until the read shows the finished work
    const scrapes = await poll(
      async () => {
        const s = await fleetScrape();
        // each coordinator caches its own read: wait until both show the finished work
        return s.every((samples) => sampleSum(samples, "gigafactory_jobs", { stage: "shipped" }) === 3) && s;
      },
      { what: "the gauges of both coordinators to show 3 shipped jobs", tries: 300, everyMs: 100 },
    );
    expect(total(scrapes, "gigafactory_jobs_created_total")).toBe(4);
    expect(total(scrapes, "gigafactory_jobs_finished_total", { result: "shipped" })).toBe(3);
    expect(total(scrapes, "gigafactory_jobs_finished_total", { result: "failed" })).toBe(1);
    expect(total(scrapes, "gigafactory_jobs_finished_total", { result: "cancelled" })).toBe(0);
    expect(total(scrapes, "gigafactory_runs_finished_total", { engine: "shell", result: "success" })).toBe(3);
    expect(total(scrapes, "gigafactory_runs_finished_total", { engine: "shell", result: "failure" })).toBe(1);
    expect(total(scrapes, "gigafactory_runs_finished_total", { engine: "shell", result: "lost" })).toBe(1);
    expect(total(scrapes, "gigafactory_runs_finished_total")).toBe(5);
    expect(total(scrapes, "gigafactory_leases_lost_total")).toBe(1);
    expect(total(scrapes, "gigafactory_writes_fenced_total")).toBe(1);
    expect(total(scrapes, "gigafactory_tokens_total", { engine: "shell", type: "input" })).toBe(100);
    expect(total(scrapes, "gigafactory_tokens_total", { engine: "shell", type: "output" })).toBe(20);
    expect(total(scrapes, "gigafactory_tokens_total", { engine: "shell", type: "cached" })).toBe(5);
    expect(total(scrapes, "gigafactory_cost_usd_total", { engine: "shell" })).toBe(0.25);
    // histograms: one queue wait per claim (5), one duration per finished run (5)
    expect(total(scrapes, "gigafactory_queue_wait_seconds_count")).toBe(5);
    expect(total(scrapes, "gigafactory_run_duration_seconds_count")).toBe(5);
    expect(total(scrapes, "gigafactory_run_duration_seconds_count", { result: "lost" })).toBe(1);
    // the largest finite bucket is 24 h
    const buckets = (scrapes[0] ?? []).filter((s) => s.name === "gigafactory_queue_wait_seconds_bucket");
    expect(buckets.map((s) => s.labels.le).slice(-2)).toEqual(["86400", "+Inf"]);
    // per-procedure requests: four creates answered OK on `long`, and the fenced one counted by its code
    expect(sampleSum(scrapes[0] ?? [], "gigafactory_requests_total", { procedure: "jobs.create", code: "OK" })).toBe(4);
    expect(
      sampleSum(scrapes[0] ?? [], "gigafactory_requests_total", {
        procedure: "factory.appendEvents",
        code: "CONFLICT",
      }),
    ).toBe(1);

    // idle again: gauges read from MongoDB agree on both coordinators
    for (const samples of scrapes) {
      expect(sampleSum(samples, "gigafactory_jobs", { stage: "inbox" })).toBe(0);
      expect(sampleSum(samples, "gigafactory_jobs", { stage: "building" })).toBe(0);
      expect(sampleSum(samples, "gigafactory_jobs", { stage: "failed" })).toBe(1);
      expect(sampleSum(samples, "gigafactory_queue_oldest_age_seconds")).toBe(0);
      expect(sampleSum(samples, "gigafactory_factories", { state: "active" })).toBe(2);
      expect(sampleSum(samples, "gigafactory_factories", { state: "gone" })).toBe(0);
      expect(sampleSum(samples, "gigafactory_seats", { state: "used" })).toBe(0);
      expect(sampleSum(samples, "gigafactory_seats", { state: "free" })).toBe(16);
    }

    // no label carries an id: names from bounded sets, values never one of this test's ids
    const ids = [lostJob._id, first.runId, second.runId, a, b];
    for (const samples of scrapes) assertNoIdLabels(samples, ids);
  });

  it("reports a waiting job's age and counts it in the inbox", async () => {
    const service = await h.as("service");
    await createJob(service, { engine: "nobody-runs-this" });
    const samples = await poll(
      async () => {
        const [s] = await fleetScrape();
        return sampleSum(s ?? [], "gigafactory_jobs", { stage: "inbox" }) === 1 && s;
      },
      { what: "the inbox gauge to show the job", tries: 200, everyMs: 100 },
    );
    expect(sampleSum(samples, "gigafactory_queue_oldest_age_seconds")).toBeGreaterThan(0);
  });
});

/** Label names a metric may carry: bounded sets only (ours, and prom-client's default metrics'). */
const ALLOWED_LABELS = new Set([
  "result",
  "engine",
  "stage",
  "state",
  "type",
  "procedure",
  "code",
  "le",
  // prom-client's default process metrics
  "version",
  "major",
  "minor",
  "patch",
  "space",
  "kind",
]);

/** An id: ours (`job_…`, `run_…`), a UUID, an ObjectId, or a long run of hex/base32 digits. */
const ID_LIKE = /^(?:[a-z]+_[0-9a-z]{12,}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{24})$/i;

function assertNoIdLabels(samples: Sample[], ids: string[]): void {
  for (const sample of samples)
    for (const [name, value] of Object.entries(sample.labels)) {
      expect(ALLOWED_LABELS, `${sample.name} has label ${name}`).toContain(name);
      expect(ID_LIKE.test(value), `${sample.name}{${name}="${value}"} looks like an id`).toBe(false);
      expect(ids, `${sample.name}{${name}="${value}"} is an id of this test`).not.toContain(value);
    }
}

describe("GET /metrics authentication", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.start("metrics-auth", { env: { GF_METRICS_TOKEN: METRICS_TOKEN } });
  });
  afterAll(() => h?.close());

  it("answers an admin token and the metrics token, and refuses anything else with 401", async () => {
    expect((await scrape(h.url, h.coordinator.adminToken)).status).toBe(200);
    expect((await scrape(h.url, METRICS_TOKEN)).status).toBe(200);
    for (const token of [undefined, "wrong", `${METRICS_TOKEN}x`, await h.token("service"), await h.token("factory")]) {
      const answer = await scrape(h.url, token);
      expect(answer.status).toBe(401);
      expect(answer.text).not.toContain("gigafactory_");
    }
  });

  it("refuses a token in the URL like every other route", async () => {
    const res = await fetch(`${h.url}/metrics?token=${METRICS_TOKEN}`);
    expect(res.status).toBe(400);
  });
});

describe("GF_METRICS=false", () => {
  it("serves no /metrics", async () => {
    await using h = await Harness.start("metrics-off", { env: { GF_METRICS: "false" } });
    expect((await scrape(h.url, h.coordinator.adminToken)).status).toBe(404);
  });
});
