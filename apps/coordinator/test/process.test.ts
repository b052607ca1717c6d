import { stat } from "node:fs/promises";
import { join } from "node:path";
import { spawnCoordinator } from "@gigafactory/coordinator/testing";
import type { JobEvent } from "@gigafactory/schema";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createClient } from "./support/client.js";
import { Collector } from "./support/collector.js";
import { Harness, createJob, poll } from "./support/harness.js";
import { openTestDb } from "./support/test-db.js";

describe("the coordinator process", () => {
  let h: Harness;
  beforeAll(async () => {
    // trace: every log line the process can write is written, and must not carry a token
    h = await Harness.start("process", { env: { GF_LOG_LEVEL: "trace" } });
  });
  afterAll(() => h?.close());

  it("/healthz and /readyz answer 200", async () => {
    for (const path of ["/healthz", "/readyz"]) {
      const response = await fetch(`${h.url}${path}`);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ ok: true });
    }
  });

  it("writes the admin token to a file only its owner can read, and never logs a token", async () => {
    const file = join(h.coordinator.dataDir, "admin.token");
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    // exercise logging paths: token creation, authenticated and refused calls, a failing call
    const service = await h.as("service");
    await createJob(service);
    await fetch(`${h.url}/jobs.list`, { headers: { authorization: `Bearer ${h.coordinator.adminToken}x` } });
    await service.trpc.jobs.get.query({ jobId: "job_missing" }).catch(() => undefined);
    const output = h.coordinator.output.join("\n");
    expect(output).toContain("created the first admin token"); // the logs were captured at all
    expect(output).not.toContain(h.coordinator.adminToken);
    expect(output).not.toContain(service.token ?? "no token");
    expect(output).not.toMatch(/gf_(admin|service|factory)_[A-Za-z0-9_-]{20,}/);
  });

  it("a restart on the same database keeps the admin token and does not make another", async () => {
    const tokensBefore = await h.db.collection("tokens").countDocuments({ role: "admin" });
    await using again = await spawnCoordinator({
      mongoUrl: inject("mongoUrl"),
      dbName: h.testDb.dbName,
      dataDir: h.coordinator.dataDir,
    });
    expect(again.adminToken).toBe(h.coordinator.adminToken);
    expect(await h.db.collection("tokens").countDocuments({ role: "admin" })).toBe(tokensBefore);
    const admin = createClient({ url: again.url, token: again.adminToken });
    expect(await admin.trpc.admin.factories.query({})).toEqual([]);
    await admin.close();
    expect(await again.stop("SIGTERM")).toBe(0);
  });

  it("SIGTERM with a subscriber connected and calls in flight: exits 0 and stops listening", {
    timeout: 60_000,
  }, async () => {
    await using t = await openTestDb("process-sigterm");
    await using coordinator = await spawnCoordinator({ mongoUrl: inject("mongoUrl"), dbName: t.dbName });
    const admin = createClient({ url: coordinator.url, token: coordinator.adminToken });
    const { token } = await admin.trpc.admin.createToken.mutate({ role: "service" });
    const service = createClient({ url: coordinator.url, token });
    const job = await createJob(service);
    const watcher = new Collector<{ id: string; data: JobEvent }>((handlers) =>
      service.trpc.jobs.watch.subscribe({ jobId: job._id }, handlers),
    );
    await watcher.until((items) => items.length > 0, "the watch to be live");
    const inFlight = Array.from({ length: 10 }, () =>
      service.trpc.jobs.list.query({}).then(
        () => "ok",
        () => "refused",
      ),
    );

    expect(await coordinator.stop("SIGTERM")).toBe(0);
    const outcomes = await Promise.all(inFlight);
    expect(outcomes.every((outcome) => outcome === "ok" || outcome === "refused")).toBe(true);
    expect(
      await fetch(`${coordinator.url}/healthz`).then(
        () => "answered",
        () => "closed",
      ),
    ).toBe("closed");
    watcher.stop();
    await Promise.all([admin.close(), service.close()]);
    const lines = coordinator.output.join("\n");
    expect(lines).not.toContain("shutdown step failed");
    expect(lines).not.toContain("shutdown deadline passed");
  });

  it("refuses to start with invalid configuration, naming the setting", async () => {
    await using t = await openTestDb("process-bad-env");
    const error = await spawnCoordinator({
      mongoUrl: inject("mongoUrl"),
      dbName: t.dbName,
      env: { GF_LEASE_TTL: "soon" },
    }).catch((err: unknown) => err);
    expect(String(error)).toContain("exited with 1");
    expect(String(error)).toContain("GF_LEASE_TTL");
  });

  it("every coordinator log line is JSON (pino), for log shippers", async () => {
    await poll(async () => h.coordinator.output.length > 0, { what: "some output" });
    for (const line of h.coordinator.output.filter((l) => l.trim())) expect(() => JSON.parse(line)).not.toThrow();
  });
});
