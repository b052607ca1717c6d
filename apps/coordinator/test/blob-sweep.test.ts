import { randomBytes } from "node:crypto";
import { mkdir, stat, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Harness, claimOne, createJob, poll, registerFactory } from "./support/harness.js";

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );
const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

/**
 * The blob store keeps its files private (0600, directories 0700) and a sweep removes what no one
 * will read: temp files of uploads that died and blobs no artifact points to, once old enough.
 */
describe("blob store: modes and the sweep of abandoned files", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.start("blob-sweep", { env: { GF_LEASE_TTL: "1h", GF_BLOB_SWEEP_EVERY: "200ms" } });
  });
  afterAll(() => h?.close());

  it("removes an old orphan blob and an old temp file; keeps referenced and young ones", {
    timeout: 120_000,
  }, async () => {
    const service = await h.as("service");
    const factory = await h.as("factory");
    const factoryId = await registerFactory(factory, { capabilities: ["blob-sweep"] });
    await createJob(service, { capabilities: ["blob-sweep"] });
    const claimed = await claimOne(factory, factoryId);
    const query = new URLSearchParams({
      jobId: claimed.job._id,
      epoch: String(claimed.epoch),
      factoryId,
      runId: claimed.runId,
      name: "engine.log",
    });
    const response = await fetch(`${h.url}/artifacts?${query}`, {
      method: "PUT",
      headers: { authorization: `Bearer ${factory.token}`, "content-type": "text/plain" },
      body: randomBytes(1024),
    });
    expect(response.status).toBe(201);
    const { sha256 } = (await response.json()) as { sha256: string };

    const dir = join(h.coordinator.dataDir, "blobs");
    const referenced = join(dir, sha256.slice(0, 2), sha256);
    expect(await modeOf(referenced)).toBe(0o600);
    for (const each of [dir, join(dir, "tmp"), join(dir, sha256.slice(0, 2))]) expect(await modeOf(each)).toBe(0o700);

    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
    const blob = async (old: boolean) => {
      const sha = randomBytes(32).toString("hex");
      await mkdir(join(dir, sha.slice(0, 2)), { recursive: true });
      const path = join(dir, sha.slice(0, 2), sha);
      await writeFile(path, "orphan");
      if (old) await utimes(path, twoDaysAgo, twoDaysAgo);
      return path;
    };
    const temp = async (name: string, old: boolean) => {
      const path = join(dir, "tmp", name);
      await writeFile(path, "partial upload");
      if (old) await utimes(path, twoDaysAgo, twoDaysAgo);
      return path;
    };
    await utimes(referenced, twoDaysAgo, twoDaysAgo);
    const oldOrphan = await blob(true);
    const youngOrphan = await blob(false);
    const oldTemp = await temp("dead-upload", true);
    const youngTemp = await temp("live-upload", false);

    await poll(async () => !(await exists(oldOrphan)) && !(await exists(oldTemp)), {
      tries: 300,
      everyMs: 100,
      what: "the old orphan blob and the old temp file to be swept",
    });
    expect(await exists(referenced)).toBe(true);
    expect(await exists(youngOrphan)).toBe(true);
    expect(await exists(youngTemp)).toBe(true);
    // still served
    const [artifact] = await service.trpc.artifacts.list.query({ jobId: claimed.job._id });
    const download = await fetch(`${h.url}/artifacts/${artifact?._id}/content`, {
      headers: { authorization: `Bearer ${service.token}` },
    });
    expect(download.status).toBe(200);
  });
});
