import type { FactoryMessage } from "@gigafactory/schema";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_TIMINGS } from "../src/options.js";
import type { TestClient } from "./support/client.js";
import { parseExposition, sampleSum, scrape } from "./support/exposition.js";
import { Harness, createJob, poll, registerFactory } from "./support/harness.js";

const METRICS_TOKEN = "nudge-scrape-0123456789";
const FACTORIES = 12;
const FANOUT = DEFAULT_TIMINGS.streams.nudgeFanout;

/**
 * A factory as the daemon behaves: connected to `connect`, it claims on every `work` and counts
 * its claim calls. Claimed jobs are kept (never completed), so a factory that got one is busy.
 */
class SimFactory {
  works = 0;
  claims = 0;
  inFlight = 0;
  readonly claimed: string[] = [];
  readonly epochs = new Map<string, number>();
  readonly errors: unknown[] = [];
  private readonly sub: { unsubscribe(): void };

  constructor(
    private readonly client: TestClient,
    readonly factoryId: string,
  ) {
    this.sub = client.trpc.factory.connect.subscribe(
      { factoryId },
      {
        onData: (message: FactoryMessage) => {
          if (message.type !== "work") return;
          this.works++;
          void this.claim();
        },
        onError: (error) => this.errors.push(error),
      },
    );
  }

  private async claim(): Promise<void> {
    this.claims++;
    this.inFlight++;
    try {
      const { jobs } = await this.client.trpc.factory.claim.mutate({ factoryId: this.factoryId });
      for (const { job, epoch } of jobs) {
        this.claimed.push(job._id);
        this.epochs.set(job._id, epoch);
      }
    } catch (error) {
      this.errors.push(error);
    } finally {
      this.inFlight--;
    }
  }

  close(): void {
    this.sub.unsubscribe();
  }
}

/**
 * Issue 16: every completion used to send `work` to every connected factory, and each claimed.
 * Now one claimable job nudges at most `nudgeFanout` factories that can run it. The idle nudge
 * and the retry of an unclaimed job's nudges are set to an hour here, so every claim counted
 * comes from the job's own nudge; counts come from the coordinator's `/metrics`.
 */
describe("work nudges with many idle factories connected", () => {
  let h: Harness;
  let factoryClient: TestClient;
  let fleet: SimFactory[] = [];
  let service: TestClient;

  const claimCalls = async () => {
    const { status, text } = await scrape(h.url, METRICS_TOKEN);
    expect(status).toBe(200);
    return sampleSum(parseExposition(text), "gigafactory_requests_total", { procedure: "factory.claim" });
  };
  const settled = (what: string) =>
    poll(async () => fleet.every((f) => f.inFlight === 0), { what, tries: 600 }).then(() => {
      for (const f of fleet) expect(f.errors).toEqual([]);
    });

  beforeAll(async () => {
    h = await Harness.start("nudge-fanout", {
      env: { GF_METRICS_TOKEN: METRICS_TOKEN, GF_IDLE_NUDGE: "1h", GF_NUDGE_RETRY: "1h" },
    });
    service = await h.as("service");
    factoryClient = h.client(await h.token("factory"));
    for (let i = 0; i < FACTORIES; i++) {
      // the last one alone can run jobs that need a GPU
      const capabilities = i === FACTORIES - 1 ? ["os:linux", "gpu"] : ["os:linux"];
      const factoryId = await registerFactory(factoryClient, { factoryId: `nudge-${i}`, capabilities });
      fleet.push(new SimFactory(factoryClient, factoryId));
    }
    // every connection's greeting `work`, and the claim it caused, are done
    await poll(async () => fleet.every((f) => f.works === 1), { what: "every greeting", tries: 600 });
    await settled("the greeting claims");
  }, 120_000);
  afterAll(async () => {
    for (const f of fleet) f.close();
    fleet = [];
    await h?.close();
  });

  it("one created job costs at most `nudgeFanout` claim calls, and is claimed", { timeout: 60_000 }, async () => {
    const before = await claimCalls();
    const clientBefore = fleet.reduce((sum, f) => sum + f.claims, 0);
    const job = await createJob(service, { capabilities: ["os:linux"] });
    const holder = await poll(async () => fleet.find((f) => f.claimed.includes(job._id)), {
      what: "the job to be claimed",
      tries: 600,
    });
    await settled("the nudged claims");
    const calls = (await claimCalls()) - before;
    expect(calls).toBe(fleet.reduce((sum, f) => sum + f.claims, 0) - clientBefore);
    expect(calls).toBeGreaterThanOrEqual(1);
    expect(calls).toBeLessThanOrEqual(FANOUT);
    expect(fleet.filter((f) => f.works > 1).length).toBeLessThanOrEqual(FANOUT);
    expect(holder.works).toBe(2);
  });

  it("a job only one factory can run nudges that factory, and it claims it", { timeout: 60_000 }, async () => {
    const gpu = fleet[FACTORIES - 1];
    const before = await claimCalls();
    const worksBefore = fleet.map((f) => f.works);
    const job = await createJob(service, { capabilities: ["gpu"] });
    await poll(async () => gpu?.claimed.includes(job._id), { what: "the GPU factory to claim the job", tries: 600 });
    await settled("the nudged claims");
    expect((await claimCalls()) - before).toBe(1);
    // nobody else was nudged
    expect(fleet.map((f, i) => f.works - (worksBefore[i] ?? 0))).toEqual(fleet.map((f) => (f === gpu ? 1 : 0)));
  });

  it("a completion that frees nothing nudges nobody", { timeout: 60_000 }, async () => {
    const holder = fleet.find((f) => f.claimed.length > 0);
    if (!holder) throw new Error("no factory holds a job");
    const jobId = holder.claimed[0] ?? "";
    const worksBefore = fleet.reduce((sum, f) => sum + f.works, 0);
    const before = await claimCalls();
    await factoryClient.trpc.factory.complete.mutate({
      jobId,
      epoch: holder.epochs.get(jobId) ?? 0,
      factoryId: holder.factoryId,
      result: "success",
    });
    // a second job after it: its nudge arrives after anything the completion could have caused
    const next = await createJob(service, { capabilities: ["os:linux"] });
    await poll(async () => fleet.find((f) => f.claimed.includes(next._id)), { what: "the next job", tries: 600 });
    await settled("the nudged claims");
    expect(fleet.reduce((sum, f) => sum + f.works, 0) - worksBefore).toBeLessThanOrEqual(FANOUT);
    expect((await claimCalls()) - before).toBeLessThanOrEqual(FANOUT);
  });
});
