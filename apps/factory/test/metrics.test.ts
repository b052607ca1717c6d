import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { type Cluster, startCluster } from "./support/cluster.js";
import { type FactoryProcess, startFactory } from "./support/factory-process.js";
import { waitFor, waitForOutcome } from "./support/wait.js";

const METRICS_TOKEN = "fleet-scrape-secret-0123";

let cluster: Cluster;
let factory: FactoryProcess;
let metricsUrl: string;

beforeAll(async () => {
  cluster = await startCluster({
    mongoUrl: inject("mongoUrl"),
    label: "factory-metrics",
    env: { GF_METRICS_TOKEN: METRICS_TOKEN },
  });
  factory = await startFactory(cluster, { factoryId: "metrics-1", env: { GF_METRICS_ADDR: "127.0.0.1:0" } });
  const ready = factory.output.map((line) => line.trim()).find((line) => line.includes('"msg":"GF_FACTORY_READY"'));
  metricsUrl = (JSON.parse(ready ?? "{}") as { metricsUrl?: string }).metricsUrl ?? "";
});
afterAll(async () => {
  await factory?.stop();
  await cluster?.close();
});

/** `name{labels} value` lines of a scrape, summed over the samples whose labels include `labels`. */
function sum(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match?.[1] !== name) continue;
    const have = Object.fromEntries([...(match[2] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) total += Number(match[3]);
  }
  return total;
}

async function get(url: string, token?: string): Promise<string> {
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  expect(res.status).toBe(200);
  return res.text();
}

describe("a factory with --metrics-addr, in a real fleet", () => {
  it("serves its own metrics; after 2 shipped and 1 failed both scrapes show exactly that", async () => {
    expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const idle = await get(metricsUrl);
    expect(sum(idle, "gigafactory_factory_seats", { state: "free" })).toBe(2);
    expect(sum(idle, "gigafactory_factory_seats", { state: "used" })).toBe(0);
    expect(sum(idle, "gigafactory_factory_runs_total")).toBe(0);

    for (const [bodyMd, stage] of [
      ["echo one", "shipped"],
      ["echo two", "shipped"],
      ["echo failing; exit 3", "failed"],
    ] as const) {
      const { job } = await cluster.service.trpc.jobs.create.mutate({ engine: "shell", bodyMd, maxAttempts: 1 });
      await waitForOutcome(cluster.service, job._id, stage, { describe: () => factory.tail() });
    }

    // the runner counts its run once its attempt is over (just after the completion is answered)
    const text = await waitFor(
      "the factory to count three runs",
      async () => {
        const t = await get(metricsUrl);
        return sum(t, "gigafactory_factory_runs_total") === 3 && t;
      },
      { describe: () => factory.tail() },
    );
    expect(sum(text, "gigafactory_factory_runs_total", { engine: "shell", result: "success" })).toBe(2);
    expect(sum(text, "gigafactory_factory_runs_total", { engine: "shell", result: "failure" })).toBe(1);
    expect(sum(text, "gigafactory_factory_writes_fenced_total")).toBe(0);
    expect(sum(text, "gigafactory_factory_leases_lost_total")).toBe(0);
    expect(sum(text, "gigafactory_factory_seats", { state: "used" })).toBe(0);
    expect(text).toContain("process_resident_memory_bytes");

    const fleet = await get(`${cluster.url}/metrics`, METRICS_TOKEN);
    expect(sum(fleet, "gigafactory_jobs_created_total")).toBe(3);
    expect(sum(fleet, "gigafactory_jobs_finished_total", { result: "shipped" })).toBe(2);
    expect(sum(fleet, "gigafactory_jobs_finished_total", { result: "failed" })).toBe(1);
    expect(sum(fleet, "gigafactory_runs_finished_total", { engine: "shell" })).toBe(3);
    expect(sum(fleet, "gigafactory_queue_wait_seconds_count")).toBe(3);
    expect(sum(fleet, "gigafactory_subscriptions", { procedure: "factory.connect" })).toBe(1);
    // each job was created while the factory was connected and idle: one nudge each
    expect(sum(fleet, "gigafactory_dispatch_latency_seconds_count")).toBe(3);
  });

  it("names in the example dashboard and alert rules are all metrics a real scrape declares", async () => {
    const scrapes = [await get(metricsUrl), await get(`${cluster.url}/metrics`, METRICS_TOKEN)].join("\n");
    const declared = new Set<string>();
    for (const [, name, type] of scrapes.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      declared.add(name as string);
      if (type === "histogram") for (const suffix of ["_bucket", "_sum", "_count"]) declared.add(`${name}${suffix}`);
    }
    const dir = join(import.meta.dirname, "..", "..", "..", "examples", "observability");
    const dashboard = JSON.parse(readFileSync(join(dir, "grafana-dashboard.json"), "utf8")) as {
      panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
    };
    const alerts = parseYaml(readFileSync(join(dir, "prometheus-alerts.yml"), "utf8")) as {
      groups: Array<{ rules: Array<{ alert: string; expr: string; labels: { severity: string } }> }>;
    };
    const exprs = [
      ...dashboard.panels.flatMap((panel) => panel.targets.map((target) => target.expr)),
      ...alerts.groups.flatMap((group) => group.rules.map((rule) => rule.expr)),
    ];
    const named = new Set(exprs.flatMap((expr) => expr.match(/\bgigafactory_[a-z0-9_]+/g) ?? []));
    expect(named.size).toBeGreaterThan(15);
    expect([...named].filter((name) => !declared.has(name))).toEqual([]);
    // the four alerts the issue asks for, each with a severity
    const rules = alerts.groups.flatMap((group) => group.rules);
    for (const metric of [
      "gigafactory_queue_oldest_age_seconds",
      "gigafactory_leases_lost_total",
      "gigafactory_factories",
      "gigafactory_writes_fenced_total",
    ])
      expect(rules.some((rule) => rule.expr.includes(metric) && rule.labels.severity)).toBe(true);
  });
});
