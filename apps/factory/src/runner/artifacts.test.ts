import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { uploadArtifact } from "./artifacts.js";
import { FencedSignal, fencedWrite, HttpStatusError } from "./fence.js";

/** A local HTTP server that answers every request with `status` and `body`, counting requests. */
async function answering(
  status: number,
  body: unknown,
): Promise<{ url: string; requests: () => number; server: Server }> {
  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    req.resume();
    req.on("end", () => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests: () => requests, server };
}

let servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  servers = [];
});

async function upload(status: number, body: unknown, tries: number): Promise<{ error: unknown; requests: number }> {
  const target = await answering(status, body);
  servers.push(target.server);
  const client = { url: target.url, authHeader: () => ({ authorization: "Bearer test" }) };
  const meta = {
    jobId: "job_1",
    epoch: 1,
    factoryId: "f1",
    runId: "run_1",
    name: "engine.log",
    contentType: "text/plain",
  };
  const error = await fencedWrite("job_1", () => uploadArtifact(client, meta, Buffer.from("log\n")), { tries }).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  return { error, requests: target.requests() };
}

describe("artifact uploads under fencedWrite", () => {
  it("does not retry a 4xx answer (413, 400)", async () => {
    for (const status of [413, 400]) {
      const { error, requests } = await upload(status, { error: "NO" }, 3);
      expect(error).toBeInstanceOf(HttpStatusError);
      expect(error).toMatchObject({ status });
      expect(requests).toBe(1);
    }
  });

  it("retries a 5xx answer", async () => {
    const { error, requests } = await upload(503, { error: "UNAVAILABLE" }, 2);
    expect(error).toMatchObject({ status: 503 });
    expect(requests).toBe(2);
  });

  it("turns 409 FENCED into a fence at once", async () => {
    const { error, requests } = await upload(409, { error: "CONFLICT", reason: "FENCED" }, 3);
    expect(error).toBeInstanceOf(FencedSignal);
    expect(requests).toBe(1);
  });
});
