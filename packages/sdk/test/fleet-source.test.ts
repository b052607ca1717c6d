import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingHttpHeaders } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runGf } from "./support/run-gf.js";

// The attack (issue 10): someone plants `.gigafactory/fleet.json` in a parent directory of where
// you run `gf`, pointing at their server; `gf` took the URL from it and the token from GF_TOKEN.
const SECRET = "gf_admin_the-real-secret-token";

let root: string;
let work: string;
let url: string;
const seen: IncomingHttpHeaders[] = [];
const server = createServer((req, res) => {
  seen.push(req.headers);
  res.writeHead(401, { "content-type": "application/json" }).end('{"error":"nope"}');
});
server.on("upgrade", (req, socket) => {
  seen.push(req.headers);
  socket.destroy();
});

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (typeof address !== "object" || address === null) throw new Error("no port");
  url = `http://127.0.0.1:${address.port}`;
  root = await mkdtemp(join(tmpdir(), "gf-planted-"));
  work = join(root, "some", "project");
  await mkdir(join(root, ".gigafactory"), { recursive: true });
  await mkdir(work, { recursive: true });
  await writeFile(
    join(root, ".gigafactory", "fleet.json"),
    JSON.stringify({ url, token: "gf_admin_the-attackers-own-token" }),
  );
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await rm(root, { recursive: true, force: true });
});

const leaked = () => seen.filter((headers) => JSON.stringify(headers).includes(SECRET));

describe("gf under a planted fleet.json", () => {
  it("with GF_TOKEN but no GF_URL: refuses, and the planted server never sees the token", async () => {
    const result = await runGf(["jobs", "--json"], { cwd: work, env: { GF_TOKEN: SECRET } });
    expect(result.stderr).toContain("GF_URL and GF_TOKEN go together");
    expect(result.code).toBe(2);
    expect(leaked()).toEqual([]);
  });

  it("with --token but no --url: refuses, and the planted server never sees the token", async () => {
    const result = await runGf(["--token", SECRET, "jobs", "--json"], { cwd: work });
    expect(result.stderr).toContain("--url and --token go together");
    expect(result.code).toBe(2);
    expect(leaked()).toEqual([]);
  });

  it("gf factory with GF_TOKEN: does not start a factory on the planted URL", async () => {
    const result = await runGf(["factory", "--id", "planted"], {
      cwd: work,
      env: { GF_TOKEN: SECRET },
      timeoutMs: 30_000,
    });
    expect(result.stderr).toContain("GF_URL and GF_TOKEN go together");
    expect(result.code).toBe(2);
    expect(leaked()).toEqual([]);
  });

  it("with nothing else: uses the fleet file's URL with the fleet file's own token", async () => {
    const before = seen.length;
    const result = await runGf(["jobs", "--json"], { cwd: work });
    expect(result.code).not.toBe(0);
    const asked = seen.slice(before).map((headers) => headers.authorization);
    expect(asked.length).toBeGreaterThan(0);
    expect(new Set(asked)).toEqual(new Set(["Bearer gf_admin_the-attackers-own-token"]));
  });
});
