import { createHash, randomBytes } from "node:crypto";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import type { ClaimedJob } from "@gigafactory/schema";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestClient, codeOf, rejection } from "./support/client.js";
import { Harness, claimOne, createJob, registerFactory } from "./support/harness.js";

const MAX_BYTES = 64 * 1024;

describe("artifacts: streamed upload under the fence, download, size limit", () => {
  let h: Harness;
  let service: TestClient;
  let factory: TestClient;
  let factoryId: string;
  let claimed: ClaimedJob;
  beforeAll(async () => {
    h = await Harness.start("artifacts", { env: { GF_LEASE_TTL: "1h", GF_ARTIFACT_MAX_BYTES: String(MAX_BYTES) } });
    service = await h.as("service");
    factory = await h.as("factory");
    factoryId = await registerFactory(factory);
    await createJob(service);
    claimed = await claimOne(factory, factoryId);
  });
  afterAll(() => h?.close());

  const upload = (name: string, body: Uint8Array | string, contentType = "application/octet-stream") =>
    fetch(
      `${h.url}/artifacts?${new URLSearchParams({ jobId: claimed.job._id, epoch: String(claimed.epoch), factoryId, runId: claimed.runId, name })}`,
      {
        method: "PUT",
        headers: { authorization: `Bearer ${factory.token}`, "content-type": contentType },
        body,
      },
    );

  it("stores the bytes with their sha-256 and size, lists them, and serves them back unchanged", async () => {
    const bytes = randomBytes(MAX_BYTES); // exactly the limit is allowed
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    const response = await upload("engine.log", bytes, "text/plain");
    expect(response.status).toBe(201);
    const artifact = (await response.json()) as {
      _id: string;
      sha256: string;
      size: number;
      name: string;
      runId: string;
    };
    expect(artifact).toMatchObject({ sha256, size: bytes.length, name: "engine.log", runId: claimed.runId });

    expect(
      (await service.trpc.artifacts.list.query({ jobId: claimed.job._id })).map((each) => [each._id, each.sha256]),
    ).toEqual([[artifact._id, sha256]]);
    expect(await service.trpc.artifacts.get.query({ artifactId: artifact._id })).toMatchObject({
      sha256,
      size: bytes.length,
      contentType: "text/plain",
    });

    const download = await fetch(`${h.url}/artifacts/${artifact._id}/content`, {
      headers: { authorization: `Bearer ${service.token}` },
    });
    expect(download.status).toBe(200);
    expect(download.headers.get("x-sha256")).toBe(sha256);
    expect(download.headers.get("content-type")).toBe("text/plain");
    const body = Buffer.from(await download.arrayBuffer());
    expect(body.equals(bytes)).toBe(true);

    // the upload is on the job's record, under the uploader's epoch
    const events = (await service.trpc.jobs.events.query({ jobId: claimed.job._id })).items.filter(
      (event) => event.type === "artifact",
    );
    expect(events).toEqual([
      expect.objectContaining({
        epoch: claimed.epoch,
        data: { artifactId: artifact._id, name: "engine.log", size: bytes.length, sha256 },
      }),
    ]);
  });

  it("an empty artifact is fine", async () => {
    const response = await upload("empty.txt", "");
    expect(response.status).toBe(201);
    expect(await response.json()).toMatchObject({ size: 0, sha256: createHash("sha256").update("").digest("hex") });
  });

  it("refuses an upload one byte over the limit with 413 and keeps nothing of it", async () => {
    const before = await h.counts();
    const response = await upload("huge.bin", randomBytes(MAX_BYTES + 1));
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ error: "PAYLOAD_TOO_LARGE" });
    expect(await h.counts()).toEqual(before);
    // no half-written file is left behind
    expect(await readdir(join(h.coordinator.dataDir, "blobs", "tmp"))).toEqual([]);
    // the coordinator is fine afterwards
    expect((await upload("after.txt", "still works")).status).toBe(201);
  });

  it("an unknown artifact is NOT_FOUND, over tRPC and over HTTP", async () => {
    expect(codeOf(await rejection(service.trpc.artifacts.get.query({ artifactId: "art_nope" }))).code).toBe(
      "NOT_FOUND",
    );
    expect(
      (await fetch(`${h.url}/artifacts/art_nope/content`, { headers: { authorization: `Bearer ${service.token}` } }))
        .status,
    ).toBe(404);
  });

  it("serves an .html artifact as an attachment of plain bytes, never sniffed", async () => {
    const response = await upload("report.html", "<script>alert(document.cookie)</script>", "text/html");
    expect(response.status).toBe(201);
    const { _id } = (await response.json()) as { _id: string };
    const download = await fetch(`${h.url}/artifacts/${_id}/content`, {
      headers: { authorization: `Bearer ${service.token}` },
    });
    expect(download.status).toBe(200);
    expect(download.headers.get("content-type")).toBe("application/octet-stream");
    expect(download.headers.get("x-content-type-options")).toBe("nosniff");
    expect(download.headers.get("content-disposition")).toBe('attachment; filename="report.html"');
    expect(await download.text()).toContain("<script>");
  });

  it("refuses an upload whose runId is not the job's current run, and keeps nothing", async () => {
    const before = await h.db.collection("artifacts").countDocuments();
    const response = await fetch(
      `${h.url}/artifacts?${new URLSearchParams({ jobId: claimed.job._id, epoch: String(claimed.epoch), factoryId, runId: "run_someone_else", name: "x.log" })}`,
      { method: "PUT", headers: { authorization: `Bearer ${factory.token}` }, body: "x" },
    );
    expect(response.status).toBe(400);
    expect(((await response.json()) as { issues: Array<{ path: string }> }).issues[0]?.path).toBe("runId");
    expect(await h.db.collection("artifacts").countDocuments()).toBe(before);
  });

  it("refuses a token in the URL, even a valid one", async () => {
    for (const url of [
      `${h.url}/artifacts/art_nope/content?token=${service.token}`,
      `${h.url}/jobs.list?token=${service.token}`,
      `${h.url}/jobs.list?connectionParams=${encodeURIComponent(JSON.stringify({ token: service.token }))}`,
    ]) {
      const response = await fetch(url);
      expect(response.status, url).toBe(400);
      expect(((await response.json()) as { message: string }).message).toMatch(/never in the URL/);
    }
  });

  it("sends no stack trace with an error, to unauthenticated callers or others", async () => {
    const answers = [
      await fetch(`${h.url}/jobs.get?input=${encodeURIComponent(JSON.stringify({ json: { jobId: "nope" } }))}`),
      await fetch(`${h.url}/jobs.get?input=${encodeURIComponent(JSON.stringify({ json: { jobId: "nope" } }))}`, {
        headers: { authorization: `Bearer ${service.token}` },
      }),
      await fetch(`${h.url}/jobs.create`, {
        method: "POST",
        headers: { authorization: `Bearer ${service.token}`, "content-type": "application/json" },
        body: "{not json",
      }),
      await fetch(`${h.url}/artifacts/art_nope/content`, { headers: { authorization: `Bearer ${service.token}` } }),
    ];
    for (const answer of answers) {
      expect(answer.status).toBeGreaterThanOrEqual(400);
      const text = await answer.text();
      expect(text).not.toMatch(/"stack"|\bat .*\.js:\d+/);
    }
  });
});
