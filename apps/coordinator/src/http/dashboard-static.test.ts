import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { type Server, createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serveDashboard } from "./dashboard-static.js";

let dir: string;
let server: Server;
let root = "";

/** A raw request: `fetch` would normalise `..` away before sending. */
function get(path: string, method = "GET"): Promise<{ status: number; type: string; cache: string; body: string }> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          type: String(res.headers["content-type"] ?? ""),
          cache: String(res.headers["cache-control"] ?? ""),
          body,
        }),
      );
    });
    req.on("error", reject);
    req.end();
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "gf-static-"));
  root = join(dir, "dist");
  await mkdir(join(root, "assets"), { recursive: true });
  await writeFile(join(root, "index.html"), "<!doctype html><title>app</title>");
  await writeFile(join(root, "assets", "app-1234.js"), "console.log(1)");
  await writeFile(join(dir, "secret.txt"), "secret");
  await symlink(join(dir, "secret.txt"), join(root, "assets", "link.js"));
  server = createServer((req, res) => {
    serveDashboard(req, res, root)
      .then((handled) => {
        if (!handled) res.writeHead(404, { "content-type": "text/plain" }).end("fell through");
      })
      .catch(() => res.writeHead(500).end());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

describe("serveDashboard", () => {
  it("serves index.html at the root and for client routes, never cached", async () => {
    for (const path of ["/", "/jobs", "/jobs/job_123", "/factories"]) {
      const answer = await get(path);
      expect(answer).toMatchObject({ status: 200, type: "text/html; charset=utf-8", cache: "no-cache" });
      expect(answer.body).toContain("<title>app</title>");
    }
  });

  it("serves built assets with their content type, cached for good", async () => {
    const answer = await get("/assets/app-1234.js");
    expect(answer).toMatchObject({ status: 200, type: "text/javascript; charset=utf-8", body: "console.log(1)" });
    expect(answer.cache).toContain("immutable");
  });

  it("never serves a file outside the build, however the path is spelled", async () => {
    for (const path of [
      "/../secret.txt",
      "/%2e%2e/secret.txt",
      "/assets/..%2f..%2fsecret.txt",
      "/assets/%2e%2e/%2e%2e/secret.txt",
      "/assets/link.js",
      "/index.html%00.js",
    ]) {
      const answer = await get(path);
      expect(answer.body, path).not.toContain("secret");
      expect(answer.body, path).toBe("fell through");
    }
  });

  it("leaves tRPC paths, other methods and unknown files to the next handler", async () => {
    for (const [path, method] of [
      ["/jobs.list", "GET"],
      ["/jobs.list,dashboard.overview", "GET"],
      ["/", "POST"],
      ["/missing.js", "GET"],
    ] as const) {
      expect((await get(path, method)).body, `${method} ${path}`).toBe("fell through");
    }
  });

  it("says how to build the dashboard when there is none, and still leaves tRPC paths alone", async () => {
    const missing = createServer((req, res) => {
      serveDashboard(req, res, join(dir, "nowhere")).then((handled) => {
        if (!handled) res.writeHead(404).end("fell through");
      });
    });
    await new Promise<void>((resolve) => missing.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = missing.address() as AddressInfo;
      const page = await fetch(`http://127.0.0.1:${port}/`);
      expect(page.status).toBe(503);
      expect(await page.text()).toContain("pnpm --filter @gigafactory/dashboard build");
      expect(await (await fetch(`http://127.0.0.1:${port}/jobs.list`)).text()).toBe("fell through");
    } finally {
      await new Promise((resolve) => missing.close(resolve));
    }
  });
});
