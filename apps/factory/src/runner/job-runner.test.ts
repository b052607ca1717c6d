import { writeFileSync } from "node:fs";
import type { Job } from "@gigafactory/schema";
import { TRPCClientError } from "@trpc/client";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { killGroupQuietly, waitForPids, waitGroupGone } from "../../test/support/procs.js";
import { git, Scratch } from "../../test/support/temp.js";
import { sleep, waitFor } from "../../test/support/wait.js";
import type { Engine, EngineRun } from "../engines/engine.js";
import { shellEngine } from "../engines/shell.js";
import type { RunnerClient } from "./runner-client.js";
import { JobRunner } from "./job-runner.js";

const scratch = new Scratch();
afterEach(() => scratch.clean());

/** A stand-in for the coordinator's factory procedures: records every call, and answers FENCED once told to. */
class FakeCoordinator {
  readonly calls: { name: string; input: unknown; fenced: boolean }[] = [];
  fenced = false;
  readonly client: RunnerClient;

  constructor() {
    const procedure = <T>(name: string, answer: T) => ({
      mutate: async (input: unknown): Promise<T> => {
        this.calls.push({ name, input, fenced: this.fenced });
        if (this.fenced)
          throw TRPCClientError.from({
            error: { code: -32009, message: "fenced", data: { code: "CONFLICT", reason: "FENCED" } },
          });
        return answer;
      },
    });
    this.client = {
      // nothing here uploads; a refused connection would only be retried
      url: "http://127.0.0.1:9",
      authHeader: () => ({ authorization: "Bearer test" }),
      trpc: {
        factory: {
          renew: procedure("renew", { expiresAt: new Date(), cancelRequested: false }),
          appendEvents: procedure("appendEvents", { lastSeq: 1 }),
          advance: procedure("advance", { stage: "review" as const }),
          checkpoint: procedure("checkpoint", { ok: true as const }),
          complete: procedure("complete", { stage: "shipped" as const }),
          release: procedure("release", { stage: "inbox" as const }),
        },
      },
    };
  }

  count(name: string): number {
    return this.calls.filter((call) => call.name === name).length;
  }
}

function jobFixture(overrides: Partial<Job>): Job {
  const now = new Date();
  return {
    _id: "job_unit",
    productId: "default",
    idempotencyKey: "unit",
    title: "unit",
    stage: "building",
    priority: 0,
    capabilities: [],
    engine: "shell",
    bodyMd: "",
    manifest: {},
    deps: [],
    depsMode: "all",
    pendingDeps: [],
    kind: "leaf",
    timeoutMs: 60_000,
    maxAttempts: 3,
    attempt: 1,
    notBefore: now,
    verify: [],
    review: { mode: "none" },
    awaitingApproval: false,
    lease: { holder: "factory-unit", epoch: 1, expiresAt: now, renewals: 0, runId: "run_unit" },
    eventSeq: 0,
    cancelRequested: false,
    createdAt: now,
    updatedAt: now,
    queuedAt: now,
    ...overrides,
  };
}

function startRunner(opts: {
  engine: Engine;
  job?: Partial<Job>;
  leaseTtlMs?: number;
  killGraceMs?: number;
  watchdogSlackMs?: number;
}) {
  const coordinator = new FakeCoordinator();
  const workDir = scratch.dir("runner-work").path;
  const runner = new JobRunner(
    {
      job: jobFixture(opts.job ?? {}),
      runId: "run_unit",
      epoch: 1,
      leaseExpiresAt: new Date(),
      leaseTtlMs: opts.leaseTtlMs ?? 30_000,
    },
    {
      client: coordinator.client,
      factoryId: "factory-unit",
      workDir,
      engines: new Map([[opts.engine.id, opts.engine]]),
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
      killGraceMs: opts.killGraceMs ?? 300,
      logger: pino({ level: "silent" }),
      ...(opts.watchdogSlackMs === undefined ? {} : { watchdogSlackMs: opts.watchdogSlackMs }),
    },
  );
  let settled = false;
  void runner.done.then(() => {
    settled = true;
  });
  return { runner, coordinator, settled: () => settled };
}

/** An engine that runs `command` with the shell engine but hands the runner `events` in place of its output. */
function shellWith(
  command: string,
  events: EngineRun[typeof Symbol.asyncIterator],
  onPid: (pid: number | undefined) => void,
): Engine {
  return {
    ...shellEngine,
    run(ctx) {
      const inner = shellEngine.run({ ...ctx, job: { ...ctx.job, command } });
      onPid(inner.pid);
      return { pid: inner.pid, result: inner.result, [Symbol.asyncIterator]: events };
    },
  };
}

describe("JobRunner", () => {
  it("an exception while the engine runs kills the engine's process group, and the attempt fails naming it", async () => {
    let pgid: number | undefined;
    const engine = shellWith(
      "sleep 1000",
      () => ({ next: () => Promise.reject(new Error("the parser blew up")) }),
      (pid) => {
        pgid = pid;
        if (pid !== undefined) scratch.defer(() => killGroupQuietly(pid));
      },
    );
    const { coordinator, settled } = startRunner({ engine });
    await waitFor("the attempt to end", settled, { timeoutMs: 20_000 });
    if (pgid === undefined) throw new Error("the engine did not start");
    await waitGroupGone(pgid);
    const completions = coordinator.calls.filter((call) => call.name === "complete");
    expect(completions.map((call) => call.input)).toEqual([
      expect.objectContaining({ result: "failure", reason: expect.stringContaining("the parser blew up") }),
    ]);
  });

  it("a fence after a drain wins: no WIP commit moves the job branch, and nothing more is sent", async () => {
    const repo = await scratch.repo("runner-fenced-drain");
    const tmp = scratch.dir("runner-fenced-drain");
    const base = await git(repo.path, "rev-parse", "main");
    // ignores the drain's TERM (and the grace is long) so the engine ends only when the test says so
    const command = `trap '' TERM; echo $$ > ${tmp.file("pid")}; while [ ! -f ${tmp.file("go")} ]; do sleep 0.05; done; echo late > work.txt`;
    const { runner, coordinator } = startRunner({
      engine: shellEngine,
      job: { repo: repo.path, command },
      killGraceMs: 60_000,
      leaseTtlMs: 300,
    });
    const [pid] = await waitForPids(tmp.file("pid"), 1);
    if (pid !== undefined) scratch.defer(() => killGroupQuietly(pid));

    const released = runner.release();
    coordinator.fenced = true;
    await waitFor("a renewal answered FENCED", () =>
      coordinator.calls.some((call) => call.name === "renew" && call.fenced),
    );
    writeFileSync(tmp.file("go"), "");
    await released;

    expect(await git(repo.path, "rev-parse", "gf/job_unit")).toBe(base);
    expect(coordinator.calls.filter((call) => call.fenced).map((call) => call.name)).toEqual(["renew"]);
    expect(coordinator.count("release") + coordinator.count("checkpoint") + coordinator.count("complete")).toBe(0);
  });

  it("past its watchdog, a hung attempt stops renewing, is aborted, reports nothing, and frees its seat", async () => {
    let signal: AbortSignal | undefined;
    // hangs outside any process: neither its events nor its result ever come, whatever the signal says
    const hung: Engine = {
      ...shellEngine,
      run(ctx) {
        signal = ctx.signal;
        return {
          pid: undefined,
          result: new Promise(() => undefined),
          [Symbol.asyncIterator]: () => ({ next: () => new Promise(() => undefined) }),
        };
      },
    };
    const { coordinator, settled } = startRunner({
      engine: hung,
      job: { timeoutMs: 200 },
      watchdogSlackMs: 200,
      leaseTtlMs: 300,
    });
    await waitFor("the runner to give the attempt up", settled, { timeoutMs: 10_000 });
    expect(signal?.aborted).toBe(true);
    const renewals = coordinator.count("renew");
    // several renewal periods later: still no renewal, so the lease lapses and the reaper takes the job back
    await sleep(500);
    expect(coordinator.count("renew")).toBe(renewals);
    expect(
      coordinator.calls.map((call) => call.name).filter((name) => name !== "renew" && name !== "appendEvents"),
    ).toEqual([]);
  });
});
