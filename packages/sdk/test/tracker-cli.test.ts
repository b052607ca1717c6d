import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { databaseNameFor } from "@gigafactory/devdb";
import { type SpawnedCoordinator, spawnCoordinator } from "@gigafactory/coordinator/testing";
import type { Job } from "@gigafactory/schema";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type GigafactoryClient, createGigafactoryClient } from "../src/index.js";
import { parseJson, runGf } from "./support/run-gf.js";

/** An Items API with one item (T-1) that answers 404 for every other one. */
function itemsApi(): Promise<Server> {
  const server = createServer((req, res) => {
    const found = req.url === "/items/T-1" && req.method === "GET";
    res.writeHead(found ? 200 : 404, { "content-type": "application/json" });
    res.end(
      JSON.stringify(
        found ? { id: "T-1", title: "From items", description: "body", labels: ["engine:shell"] } : { error: "no" },
      ),
    );
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

describe("gf tracker and gf policy", () => {
  let api: Server;
  let coordinator: SpawnedCoordinator;
  let admin: GigafactoryClient;
  let dir: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    api = await itemsApi();
    coordinator = await spawnCoordinator({
      mongoUrl: inject("mongoUrl"),
      dbName: databaseNameFor("sdk-tracker-cli"),
      env: { GF_ITEMS_API_URL: `http://127.0.0.1:${(api.address() as AddressInfo).port}`, GF_ITEMS_TOKEN: "t" },
    });
    admin = createGigafactoryClient({ url: coordinator.url, token: coordinator.adminToken });
    dir = await mkdtemp(join(tmpdir(), "gf-tracker-cli-"));
    env = { GF_URL: coordinator.url, GF_TOKEN: coordinator.adminToken };
  });
  afterAll(async () => {
    await admin?.close();
    await coordinator?.stop();
    await new Promise((resolve) => api?.close(resolve));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const gf = (...args: string[]) => runGf(args, { env });
  const jobCount = async () => (await admin.trpc.jobs.list.query({ limit: 200 })).items.length;

  it("imports an item once; a second import reports the same job", async () => {
    const first = parseJson<{ job: Job; created: boolean }>(await gf("tracker", "import", "items:T-1", "--json"));
    expect(first).toMatchObject({ created: true, job: { trackerItemId: "items:T-1", title: "From items" } });
    const second = await gf("tracker", "import", "items:T-1");
    expect(second.code).toBe(0);
    expect(second.stdout).toContain(`exists ${first.job._id}`);
  });

  it("a missing item exits non-zero with a clear message and creates nothing", async () => {
    const before = await jobCount();
    const result = await gf("tracker", "import", "items:T-404");
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("tracker item items:T-404 not found");
    expect(await jobCount()).toBe(before);
    const bad = await gf("tracker", "import", "jira:X-1");
    expect(bad.code).toBe(2);
  });

  it("sets and shows a policy; a bad file changes nothing; gf job shows the rails", async () => {
    const file = join(dir, "policy.yaml");
    await writeFile(
      file,
      'engines: [shell]\nmaxTimeoutMs: 600000\ngates:\n  - name: always\n    labels: [engine:shell]\n    verify: ["true"]\n',
    );
    const set = await gf("policy", "set", file, "--json");
    expect(set.code).toBe(0);
    expect(parseJson<{ version: number }>(set).version).toBe(1);
    const shown = parseJson<{ engines: string[]; gates: Array<{ name: string }> }>(
      await gf("policy", "show", "--json"),
    );
    expect(shown).toMatchObject({ engines: ["shell"], gates: [{ name: "always" }] });

    const bad = join(dir, "bad.yaml");
    await writeFile(bad, "engines: [Not An Engine]\n");
    const refused = await gf("policy", "set", bad);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("engines.0");
    expect(parseJson<{ version: number }>(await gf("policy", "show", "--json")).version).toBe(1);

    const { job } = await admin.trpc.jobs.create.mutate({ bodyMd: "echo hi\n", engine: "shell" });
    const text = await gf("job", job._id);
    expect(text.stdout).toMatch(/rails\s+policy v1: checked engines, maxTimeoutMs; gates none/);
  });
});
