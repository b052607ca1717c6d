import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type Cluster, startCluster } from "./support/cluster.js";
import { type FactoryProcess, startFactory } from "./support/factory-process.js";
import { type ReceivedSpan, startOtlpReceiver } from "./support/otlp-receiver.js";
import { waitFor, waitForOutcome } from "./support/wait.js";

let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
let cluster: Cluster;
let factory: FactoryProcess;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  // JSON export, flushed every 100 ms so the spans arrive while the test waits
  const otel = {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
    OTEL_BSP_SCHEDULE_DELAY: "100",
  };
  cluster = await startCluster({ mongoUrl: inject("mongoUrl"), label: "factory-traces", env: otel });
  factory = await startFactory(cluster, { factoryId: "traces-1", env: otel });
});
afterAll(async () => {
  await factory?.stop();
  await cluster?.close();
  await receiver?.close();
});

/** Spans whose parents are all in `spans`, but for exactly one root. */
function roots(spans: ReceivedSpan[]): ReceivedSpan[] {
  const ids = new Set(spans.map((span) => span.spanId));
  return spans.filter((span) => !span.parentSpanId || !ids.has(span.parentSpanId));
}

describe("traces through an in-process OTLP receiver", () => {
  it("one connected trace per attempt: create → claim → engine → verify → complete across both processes", async () => {
    const jobs = [];
    for (const verify of [[], ["true"]]) {
      const { job } = await cluster.service.trpc.jobs.create.mutate({ engine: "shell", bodyMd: "echo traced", verify });
      await waitForOutcome(cluster.service, job._id, "shipped", { describe: () => factory.tail() });
      jobs.push({ job: await cluster.service.trpc.jobs.get.query({ jobId: job._id }), verify: verify.length > 0 });
    }
    const traceIds = jobs.map(({ job }) => job.traceparent?.split("-")[1]);
    expect(traceIds.every((id) => /^[0-9a-f]{32}$/.test(id ?? ""))).toBe(true);
    expect(new Set(traceIds).size).toBe(2);

    for (const [i, { job, verify }] of jobs.entries()) {
      const wanted = ["jobs.create", "gf.claim", "gf.attempt", "invoke_agent shell", "gf.complete"];
      if (verify) wanted.push("gf.verify");
      const spans = await waitFor(
        `the spans of job ${i + 1}`,
        () => {
          const inTrace = receiver.spans.filter((span) => span.traceId === traceIds[i]);
          const names = new Set(inTrace.map((span) => span.name));
          return wanted.every((name) => names.has(name)) && inTrace;
        },
        { describe: () => JSON.stringify(receiver.spans.map((s) => [s.service, s.name, s.traceId])) },
      );
      // connected: one root (the creating call), every other span's parent in the same trace
      expect(roots(spans).map((span) => span.name)).toEqual(["jobs.create"]);
      const byName = (name: string) => spans.find((span) => span.name === name);
      expect(byName("jobs.create")?.service).toBe("gigafactory-coordinator");
      expect(byName("gf.claim")?.service).toBe("gigafactory-coordinator");
      expect(byName("gf.claim")?.parentSpanId).toBe(byName("jobs.create")?.spanId);
      expect(byName("gf.attempt")?.service).toBe("gigafactory-factory");
      expect(byName("gf.attempt")?.parentSpanId).toBe(byName("gf.claim")?.spanId);
      for (const child of ["invoke_agent shell", "gf.complete", ...(verify ? ["gf.verify"] : [])])
        expect(byName(child)?.parentSpanId, child).toBe(byName("gf.attempt")?.spanId);
      expect(byName("invoke_agent shell")?.attributes).toMatchObject({
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": "shell",
      });
      expect(byName("gf.attempt")?.attributes["gf.job.id"]).toBe(job._id);
      if (!verify) expect(spans.some((span) => span.name === "gf.verify")).toBe(false);
    }
  });
});
