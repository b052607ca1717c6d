import { type Job, type JobEvent, type Run, type Stage, TERMINAL_STAGES } from "@gigafactory/schema";
import type { GigafactoryClient } from "@gigafactory/sdk";

export interface WaitOptions {
  /** Gives up after this long; generous, since it only bounds a hang. @default 30_000 */
  timeoutMs?: number;
  /** @default 50 */
  intervalMs?: number;
  /** Extra context for the timeout error (e.g. factory logs). */
  describe?: () => string | Promise<string>;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Polls `probe` until it returns something other than `undefined`/`false`, and returns that.
 * Bounded: throws with `what` (and `describe()`) when it does not happen in time.
 */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  opts: WaitOptions = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const extra = opts.describe ? `\n${await opts.describe()}` : "";
      const cause = lastError
        ? `\nlast error: ${lastError instanceof Error ? lastError.message : String(lastError)}`
        : "";
      throw new Error(`timed out waiting for ${what}${cause}${extra}`);
    }
    await sleep(opts.intervalMs ?? 50);
  }
}

/** Every event of a job, in seq order. */
export async function allEvents(client: GigafactoryClient, jobId: string): Promise<JobEvent[]> {
  const events: JobEvent[] = [];
  let afterSeq = 0;
  for (;;) {
    const page = await client.trpc.jobs.events.query({ jobId, afterSeq, limit: 1_000 });
    events.push(...page.items);
    if (page.items.length < 1_000) return events;
    afterSeq = page.nextSeq;
  }
}

/** A job's runs in the order they were claimed (epochs only grow; a released attempt keeps its number). */
export async function runsOf(client: GigafactoryClient, jobId: string): Promise<Run[]> {
  const runs = await client.trpc.jobs.runs.query({ jobId });
  return runs.sort((a, b) => a.epoch - b.epoch);
}

/** A job's state, runs and event types, for failure messages. */
export async function describeJob(client: GigafactoryClient, jobId: string): Promise<string> {
  try {
    const job = await client.trpc.jobs.get.query({ jobId });
    const runs = await runsOf(client, jobId);
    const events = await allEvents(client, jobId);
    const lines = events.map(
      (event) => `  #${event.seq} e${event.epoch} ${event.type} ${JSON.stringify(event.data).slice(0, 200)}`,
    );
    return [
      `job ${jobId}: stage=${job.stage} attempt=${job.attempt} lease=${JSON.stringify(job.lease)} lastResult=${job.lastResult ?? "-"} reason=${job.reason ?? "-"}`,
      `runs: ${JSON.stringify(runs.map((run) => ({ attempt: run.attempt, epoch: run.epoch, factoryId: run.factoryId, result: run.result, reason: run.reason })))}`,
      "events:",
      ...lines.slice(-60),
    ].join("\n");
  } catch (error) {
    return `(could not describe job ${jobId}: ${error instanceof Error ? error.message : String(error)})`;
  }
}

/** Polls the job until it satisfies `done` (e.g. reaches a stage) and returns it; unlike the SDK's `waitForJob`, for any condition. */
export function pollJobUntil(
  client: GigafactoryClient,
  jobId: string,
  what: string,
  done: (job: Job) => boolean,
  opts: WaitOptions = {},
): Promise<Job> {
  return waitFor(
    `job ${jobId}: ${what}`,
    async () => {
      const job = await client.trpc.jobs.get.query({ jobId });
      return done(job) ? job : undefined;
    },
    {
      ...opts,
      describe: async () => `${await describeJob(client, jobId)}${opts.describe ? `\n${await opts.describe()}` : ""}`,
    },
  );
}

export function waitForStage(
  client: GigafactoryClient,
  jobId: string,
  stages: Stage | Stage[],
  opts: WaitOptions = {},
): Promise<Job> {
  const wanted = Array.isArray(stages) ? stages : [stages];
  return pollJobUntil(client, jobId, `stage ${wanted.join("|")}`, (job) => wanted.includes(job.stage), opts);
}

/** Waits until the job's `index`-th run (in claim order, from 0) has a result. */
export function waitForRunResult(
  client: GigafactoryClient,
  jobId: string,
  index: number,
  opts: WaitOptions = {},
): Promise<Run> {
  return waitFor(
    `job ${jobId}: run #${index + 1} has a result`,
    async () => {
      const runs = await runsOf(client, jobId);
      const run = runs[index];
      return run?.result ? run : undefined;
    },
    { ...opts, describe: () => describeJob(client, jobId) },
  );
}

/** Waits for a final stage and checks it is `expected`; a wrong outcome fails with the job's story. */
export async function waitForOutcome(
  client: GigafactoryClient,
  jobId: string,
  expected: Stage,
  opts: WaitOptions = {},
): Promise<Job> {
  const job = await waitForStage(client, jobId, [...TERMINAL_STAGES], opts);
  if (job.stage !== expected) {
    const extra = opts.describe ? `\n${await opts.describe()}` : "";
    throw new Error(
      `job ${jobId} ended ${job.stage}, expected ${expected}\n${await describeJob(client, jobId)}${extra}`,
    );
  }
  return job;
}
