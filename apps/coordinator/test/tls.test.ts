import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Harness } from "./support/harness.js";

const run = promisify(execFile);
const PROBE = join(dirname(fileURLToPath(import.meta.url)), "support", "tls-probe.mjs");

/** Runs the probe client in its own process; `ca` is the certificate it trusts, if any. */
async function probe(
  url: string,
  token: string,
  ca?: string,
): Promise<{ jobs?: number; subscribed?: boolean; error?: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  if (ca) env.NODE_EXTRA_CA_CERTS = ca;
  const { stdout } = await run(process.execPath, [PROBE, url, token], { env, timeout: 60_000 });
  return JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}");
}

describe("TLS", () => {
  let dir: string;
  let cert: string;
  let h: Harness;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "gf-tls-"));
    cert = join(dir, "cert.pem");
    const key = join(dir, "key.pem");
    await run("openssl", [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
      "-keyout",
      key,
      "-out",
      cert,
    ]);
    h = await Harness.start("tls", { env: { GF_TLS_CERT: cert, GF_TLS_KEY: key } });
  });
  afterAll(async () => {
    await h?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("serves HTTPS and WSS on one port to a client that trusts the certificate", { timeout: 120_000 }, async () => {
    expect(h.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(await probe(h.url, h.coordinator.adminToken, cert)).toEqual({ jobs: 0, subscribed: true });
  });

  it("is really TLS: a client without the certificate is refused, and plain HTTP gets no answer", {
    timeout: 120_000,
  }, async () => {
    const untrusted = await probe(h.url, h.coordinator.adminToken);
    expect(untrusted).toEqual({ error: expect.any(String) });
    await expect(fetch(`${h.url.replace(/^https/, "http")}/healthz`)).rejects.toThrow();
  });
});
