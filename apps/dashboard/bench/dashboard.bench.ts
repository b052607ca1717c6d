/**
 * The dashboard's weight and speed on a big fleet.
 *
 * Prints the gzipped size of the built JavaScript, then starts a MongoDB (the launcher: GF_MONGO_URL,
 * else mongod, else the Java stand-in), a real coordinator serving the build, and headless Chromium,
 * and measures in the same run, for a product with 1 job (the baseline) and one with JOBS jobs:
 *  - load: from navigation to the jobs table's first row;
 *  - live: from `jobs.create` returning to the new job's row appearing, with no reload;
 *  - overview: from navigation to the stage counts showing every job.
 * Ends with `js_gzip_kb=… load_ratio=… live_ratio=…` (big / baseline). Figures, never thresholds.
 */
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { gzipSync } from "node:zlib";
import type { AppRouter } from "@gigafactory/coordinator";
import { spawnCoordinator } from "@gigafactory/coordinator/testing";
import { databaseNameFor, mongoOptionsFromEnv, startMongo } from "@gigafactory/devdb";
import { type TRPCClient, createTRPCClient, httpBatchLink } from "@trpc/client";
import superjson from "superjson";
import { launchChromium } from "../test/support/browser.js";
import { DASHBOARD_DIST } from "../test/support/fleet.js";

const JOBS = Number(process.env.GF_BENCH_JOBS ?? 10_000);
const CREATORS = 8;

async function jsGzipBytes(): Promise<number> {
  const assets = join(DASHBOARD_DIST, "assets");
  let total = 0;
  for (const name of await readdir(assets)) {
    if (name.endsWith(".js")) total += gzipSync(await readFile(join(assets, name)), { level: 9 }).length;
  }
  return total;
}

const gzip = await jsGzipBytes();
process.stdout.write(`built JavaScript: ${(gzip / 1024).toFixed(1)} KB gzipped\n`);

const mongo = await startMongo(mongoOptionsFromEnv());
const coordinator = await spawnCoordinator({
  mongoUrl: mongo.url,
  dbName: databaseNameFor("bench-dashboard"),
  env: { GF_DASHBOARD_DIR: DASHBOARD_DIST, GF_RATE_LIMIT: "100000", GF_RATE_BURST: "100000", GF_LOG_LEVEL: "warn" },
});
const browser = await launchChromium();
const client = (token: string): TRPCClient<AppRouter> =>
  createTRPCClient<AppRouter>({
    links: [
      httpBatchLink({ url: coordinator.url, transformer: superjson, headers: { authorization: `Bearer ${token}` } }),
    ],
  });

try {
  const admin = client(coordinator.adminToken);
  const tokenFor = async (productId: string) =>
    (await admin.admin.createToken.mutate({ role: "service", productId, name: "bench" })).token;
  const small = { token: await tokenFor("bench-small"), jobs: 1 };
  const big = { token: await tokenFor("bench-big"), jobs: JOBS };
  for (const product of [small, big]) {
    const service = client(product.token);
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: CREATORS }, async () => {
        while (next < product.jobs) {
          const i = next++;
          await service.jobs.create.mutate({ title: `bench ${i}`, bodyMd: `echo ${i}`, engine: "shell" });
        }
      }),
    );
    process.stdout.write(`seeded ${product.jobs} jobs in ${(performance.now() - started).toFixed(0)} ms\n`);
  }

  const measure = async (product: { token: string; jobs: number }) => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const fragment = `#token=${encodeURIComponent(product.token)}`;
    let started = performance.now();
    await page.goto(`${coordinator.url}/jobs${fragment}`);
    await page.locator('[data-testid^="job-row-"]').first().waitFor({ timeout: 120_000 });
    const loadMs = performance.now() - started;
    // the feed's socket is open once the header says live
    await page.getByText("live", { exact: true }).waitFor({ timeout: 120_000 });
    started = performance.now();
    const { job } = await client(product.token).jobs.create.mutate({ title: "bench live", bodyMd: "echo live" });
    await page.getByTestId(`job-row-${job._id}`).waitFor({ timeout: 120_000 });
    const liveMs = performance.now() - started;
    const overview = await context.newPage();
    const inbox = (await client(product.token).dashboard.overview.query()).byStage.inbox;
    started = performance.now();
    await overview.goto(`${coordinator.url}/${fragment}`);
    await overview
      .getByTestId("count-inbox")
      .filter({ hasText: new RegExp(`^${inbox}$`) })
      .waitFor({ timeout: 120_000 })
      .catch(async (error: unknown) => {
        await overview.screenshot({ path: "test-results/bench-overview-failed.png" });
        throw error;
      });
    const overviewMs = performance.now() - started;
    await context.close();
    return { loadMs, liveMs, overviewMs };
  };
  // a warm-up so the baseline does not pay for the browser's first start
  await measure(small);
  const base = await measure(small);
  const heavy = await measure(big);
  const row = (name: string, m: typeof base) =>
    `${name.padEnd(10)} load ${m.loadMs.toFixed(0)} ms  live ${m.liveMs.toFixed(0)} ms  overview ${m.overviewMs.toFixed(0)} ms\n`;
  process.stdout.write(row("1 job", base));
  process.stdout.write(row(`${JOBS} jobs`, heavy));
  process.stdout.write(
    `js_gzip_kb=${(gzip / 1024).toFixed(1)} load_ratio=${(heavy.loadMs / base.loadMs).toFixed(2)} ` +
      `live_ratio=${(heavy.liveMs / base.liveMs).toFixed(2)} overview_ratio=${(heavy.overviewMs / base.overviewMs).toFixed(2)}\n`,
  );
} finally {
  await browser.close();
  await coordinator.stop();
  await mongo.stop();
}
