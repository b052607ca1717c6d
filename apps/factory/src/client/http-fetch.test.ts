import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { httpFetch } from "./http-fetch.js";

interface Seen {
  method: string | undefined;
  url: string | undefined;
  headers: IncomingMessage["headers"];
  body: Buffer;
}

let servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  servers = [];
});

/** A loopback server that records each request and answers with `answer`. */
async function serve(
  answer: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks) });
      answer(req, res);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

describe("httpFetch", () => {
  it("sends method, headers and a string body, and reads a JSON answer", async () => {
    const target = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "application/json", "x-answer": "yes" });
      res.end(JSON.stringify({ result: { data: [1, "two"] } }));
    });
    const answer = await httpFetch(`${target.url}/factory.claim?batch=1`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer t" },
      body: '{"0":{"json":{"max":1}}}',
    });
    expect(answer.ok).toBe(true);
    expect(answer.status).toBe(200);
    expect(answer.headers.get("X-Answer")).toBe("yes");
    expect(await answer.json()).toEqual({ result: { data: [1, "two"] } });
    expect(target.seen).toHaveLength(1);
    expect(target.seen[0]).toMatchObject({ method: "POST", url: "/factory.claim?batch=1" });
    expect(target.seen[0]?.headers).toMatchObject({ authorization: "Bearer t", "content-type": "application/json" });
    expect(target.seen[0]?.body.toString()).toBe('{"0":{"json":{"max":1}}}');
  });

  it("sends bytes as they are, and reports an error status without throwing", async () => {
    const target = await serve((_req, res) => {
      res.writeHead(413, { "content-type": "application/json" });
      res.end('{"error":"TOO_LARGE"}');
    });
    const bytes = Buffer.from([0, 255, 10, 13, 0xe2, 0x82]);
    const answer = await httpFetch(`${target.url}/artifacts`, { method: "PUT", body: bytes });
    expect(answer.ok).toBe(false);
    expect(answer.status).toBe(413);
    expect(await answer.text()).toBe('{"error":"TOO_LARGE"}');
    expect(target.seen[0]?.body.equals(bytes)).toBe(true);
    expect(target.seen[0]?.headers["content-length"]).toBe(String(bytes.length));
  });

  it("rejects when nothing listens, and with the signal's reason on a timeout", async () => {
    const closed = await serve(() => undefined);
    const port = new URL(closed.url).port;
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    servers = [];
    await expect(httpFetch(`http://127.0.0.1:${port}/`)).rejects.toMatchObject({ code: "ECONNREFUSED" });

    // a server that never answers: the call ends when its signal does, as fetch's would
    const silent = await serve(() => undefined);
    await expect(httpFetch(`${silent.url}/`, { signal: AbortSignal.timeout(200) })).rejects.toMatchObject({
      name: "TimeoutError",
    });
  });

  it("refuses bodies and inputs it does not send", async () => {
    const target = await serve((_req, res) => res.end("{}"));
    await expect(
      httpFetch(`${target.url}/`, { method: "POST", body: new URLSearchParams({ a: "b" }) }),
    ).rejects.toThrow("string or bytes body only");
    await expect(httpFetch(`ftp://127.0.0.1/`)).rejects.toThrow("unsupported protocol");
    expect(target.seen).toHaveLength(0);
  });

  it("verifies an https server's certificate: a self-signed one is refused", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gf-http-fetch-"));
    try {
      const run = promisify(execFile);
      const [cert, key] = [join(dir, "cert.pem"), join(dir, "key.pem")];
      await run("openssl", [
        ...["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"],
        ...["-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert],
      ]);
      let requests = 0;
      const server = createHttpsServer({ cert: await readFile(cert), key: await readFile(key) }, (_req, res) => {
        requests++;
        res.end("{}");
      });
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      await expect(httpFetch(url)).rejects.toMatchObject({ code: "DEPTH_ZERO_SELF_SIGNED_CERT" });
      expect(requests).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
