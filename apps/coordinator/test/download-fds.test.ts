import { randomBytes } from "node:crypto";
import { request } from "node:http";
import { readdir } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Harness, claimOne, createJob, poll, registerFactory } from "./support/harness.js";

// Issue 10: each aborted artifact download leaked a file descriptor (the blob's read stream was
// piped into the response and never closed when the client went away).
const SIZE = 16 * 1024 * 1024;

const openFds = async (pid: number) => (await readdir(`/proc/${pid}/fd`)).length;

/** Starts a download, and destroys the request once the first chunk of the body arrived. */
function abortAfterFirstChunk(url: string, token: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { authorization: `Bearer ${token}` } }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`download answered ${res.statusCode}`));
        return;
      }
      res.once("data", () => {
        req.destroy();
        resolve();
      });
    });
    req.on("error", () => {}); // the destroy above
    req.end();
  });
}

describe("aborted artifact downloads", () => {
  let h: Harness;
  let artifactId: string;
  let serviceToken: string;
  beforeAll(async () => {
    h = await Harness.start("download-fds", { env: { GF_LEASE_TTL: "1h", GF_ARTIFACT_MAX_BYTES: String(SIZE) } });
    serviceToken = await h.token("service");
    const service = h.client(serviceToken);
    const factory = await h.as("factory");
    const factoryId = await registerFactory(factory);
    await createJob(service);
    const claimed = await claimOne(factory, factoryId);
    const query = new URLSearchParams({
      jobId: claimed.job._id,
      epoch: String(claimed.epoch),
      factoryId,
      runId: claimed.runId,
      name: "big.bin",
    });
    const response = await fetch(`${h.url}/artifacts?${query}`, {
      method: "PUT",
      headers: { authorization: `Bearer ${factory.token}`, "content-type": "application/octet-stream" },
      body: randomBytes(SIZE),
    });
    expect(response.status).toBe(201);
    ({ _id: artifactId } = (await response.json()) as { _id: string });
  });
  afterAll(() => h?.close());

  it("close their file: 50 aborted downloads leave the coordinator's open fds where they were", {
    timeout: 180_000,
  }, async () => {
    const pid = h.coordinator.process.pid as number;
    const url = `${h.url}/artifacts/${artifactId}/content`;
    await abortAfterFirstChunk(url, serviceToken); // warm-up: lazily opened handles are counted in the baseline
    const baseline = await poll(async () => openFds(pid), { what: "the fd count" });
    for (let i = 0; i < 50; i++) await abortAfterFirstChunk(url, serviceToken);
    // bounded poll: sockets and streams close asynchronously
    let now = Number.POSITIVE_INFINITY;
    const probe = async () => {
      now = await openFds(pid);
      return now <= baseline + 5;
    };
    await poll(probe, { what: "the open fds to return to the baseline", tries: 300, everyMs: 100 }).catch(() => {});
    expect(now).toBeLessThanOrEqual(baseline + 5);
  });
});
