import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type Cluster, startCluster } from "./support/cluster.js";
import { type FactoryProcess, startFactory } from "./support/factory-process.js";
import { Scratch } from "./support/temp.js";
import { allEvents, waitForOutcome } from "./support/wait.js";

/**
 * Hostile jobs against a factory laid out as `gf up` lays it out: the fleet directory holds
 * fleet.json and admin.token, the factory's work dir is a few levels below it, and the factory
 * has its token in its environment. `GF_TEST_NO_SANDBOX=1` runs the same attacks against a
 * factory started with `--no-sandbox`: then they succeed, and these tests fail.
 */
const unsandboxed = process.env.GF_TEST_NO_SANDBOX === "1";
const scratch = new Scratch();
let cluster: Cluster;
let factory: FactoryProcess;
let fleetDir: string;
let workDir: string;

beforeAll(async () => {
  cluster = await startCluster({ mongoUrl: inject("mongoUrl"), label: "factory-sandbox" });
  fleetDir = scratch.dir("fleet").path;
  workDir = join(fleetDir, "work", "sandbox-1");
  mkdirSync(workDir, { recursive: true });
  writeFileSync(
    join(fleetDir, "fleet.json"),
    JSON.stringify({ url: cluster.url, token: cluster.serviceToken, adminToken: cluster.coordinator.adminToken }),
  );
  writeFileSync(join(fleetDir, "admin.token"), cluster.coordinator.adminToken);
  writeFileSync(join(workDir, "factory.token"), cluster.factoryToken);
  factory = await startFactory(cluster, { factoryId: "sandbox-1", workDir, sandbox: !unsandboxed });
});
afterAll(async () => {
  await factory?.stop();
  await cluster?.close();
  await scratch.clean();
});

/** Everything a job printed, engine and gates. */
async function output(jobId: string): Promise<string> {
  return (await allEvents(cluster.service, jobId))
    .filter((event) => event.type === "log" || event.type === "verify")
    .map((event) => String(event.data.line ?? ""))
    .join("\n");
}

const HOSTILE = [
  "set +eu +o pipefail",
  "for f in /proc/*/environ; do tr '\\0' '\\n' < \"$f\"; echo; done 2>/dev/null",
  'dir=$PWD; while [ "$dir" != / ]; do',
  '  for f in "$dir"/fleet.json "$dir"/*.token; do [ -f "$f" ] && { echo "FOUND $f"; cat "$f"; echo; }; done',
  '  dir=$(dirname "$dir")',
  "done 2>/dev/null",
  "find / -maxdepth 8 \\( -path /proc -o -path /sys -o -path /usr \\) -prune -o \\( -name '*.token' -o -name fleet.json \\) -print 2>/dev/null | sed 's/^/FOUND /'",
  "echo hostile done",
].join("\n");

describe("a hostile job", () => {
  it("finds neither the factory's token, nor the admin token, nor the fleet's files, from its engine or its gates", async () => {
    const { job } = await cluster.service.trpc.jobs.create.mutate({
      title: "hostile",
      engine: "shell",
      bodyMd: `${HOSTILE}\nls -la ${workDir} ${fleetDir} 2>/dev/null\ncat ${join(workDir, "factory.token")} 2>/dev/null || true`,
      verify: [`${HOSTILE}; true`],
    });
    await waitForOutcome(cluster.service, job._id, "shipped", { describe: () => factory.tail() });
    const out = await output(job._id);
    expect(out).toContain("hostile done");
    for (const secret of [cluster.factoryToken, cluster.coordinator.adminToken, cluster.serviceToken]) {
      expect(out).not.toContain(secret);
    }
    expect(out).not.toContain("FOUND");
    expect(out).not.toMatch(/fleet\.json|admin\.token|factory\.token/);
  });

  it("with `network: false` cannot connect to the coordinator's port on 127.0.0.1; with the network it can", async () => {
    const port = new URL(cluster.url).port;
    const probe = `if exec 3<>/dev/tcp/127.0.0.1/${port}; then echo connected; else echo refused; fi`;
    const offline = await cluster.service.trpc.jobs.create.mutate({
      title: "offline",
      engine: "shell",
      bodyMd: probe,
      verify: [probe],
      network: false,
    });
    const online = await cluster.service.trpc.jobs.create.mutate({ title: "online", engine: "shell", bodyMd: probe });
    await waitForOutcome(cluster.service, offline.job._id, "shipped", { describe: () => factory.tail() });
    await waitForOutcome(cluster.service, online.job._id, "shipped", { describe: () => factory.tail() });
    const offlineOut = await output(offline.job._id);
    expect(offlineOut).toContain("refused");
    expect(offlineOut).not.toContain("connected");
    expect(await output(online.job._id)).toContain("connected");
  });
});
