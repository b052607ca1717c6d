// How long a local fleet takes: `gf up` to ready, to the first job shipped, per-job round trips
// through the SDK, and stopping. Printed figures, not assertions.
//   pnpm --filter @gigafactory/sdk build && node packages/sdk/bench/up.bench.mjs [jobs=20]
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createGigafactoryClient, readFleetFile, submitJobFile, waitForJob } from "../dist/index.js";

const GF = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
const HELLO = fileURLToPath(new URL("../../../examples/hello.md", import.meta.url));
const jobs = Number(process.argv[2] ?? 20);
const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("GF_")));
const data = await mkdtemp(join(tmpdir(), "gf-bench-"));
const fleetPath = join(data, ".gigafactory", "fleet.json");

const t0 = performance.now();
const up = spawn(
  process.execPath,
  [GF, "up", "--port", "0", "--factories", "2", "--data", data, "--log-level", "warn"],
  { env, stdio: "ignore" },
);
const upExit = new Promise((resolve) => up.once("close", resolve));
for (let i = 0; i < 1_200; i++) {
  if (
    await readFile(fleetPath).then(
      () => true,
      () => false,
    )
  )
    break;
  await new Promise((resolve) => setTimeout(resolve, 50));
}
const ready = performance.now();

const submit = spawn(process.execPath, [GF, "submit", HELLO, "--wait"], { env, cwd: data, stdio: "ignore" });
const submitCode = await new Promise((resolve) => submit.once("close", resolve));
const shipped = performance.now();

const fleet = await readFleetFile(fleetPath);
const client = createGigafactoryClient({ url: fleet.url, token: fleet.serviceToken ?? fleet.token });
const latencies = [];
for (let i = 0; i < jobs; i++) {
  const start = performance.now();
  const { job } = await submitJobFile(client, { text: `---\nengine: shell\n---\necho bench ${i}\n` });
  const done = await waitForJob(client, job._id);
  if (done.stage !== "shipped") throw new Error(`${job._id} ended ${done.stage}`);
  latencies.push(performance.now() - start);
}
await client.close();

const stopStart = performance.now();
up.kill("SIGINT");
await upExit;
const stopped = performance.now();
await rm(data, { recursive: true, force: true });

latencies.sort((a, b) => a - b);
const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]?.toFixed(0);
console.log(`gf up → fleet ready (MongoDB stand-in, coordinator, 2 factories): ${(ready - t0).toFixed(0)} ms`);
console.log(
  `gf submit examples/hello.md --wait (a fresh CLI process), exit ${submitCode}: ${(shipped - ready).toFixed(0)} ms; gf up → hello shipped: ${(shipped - t0).toFixed(0)} ms`,
);
console.log(
  `SDK submitJobFile + waitForJob, ${jobs} shell jobs one after another: p50 ${pct(50)} ms, p95 ${pct(95)} ms, max ${latencies.at(-1)?.toFixed(0)} ms`,
);
console.log(`SIGINT → everything stopped: ${(stopped - stopStart).toFixed(0)} ms`);
