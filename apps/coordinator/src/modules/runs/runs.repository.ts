import type { Run } from "@gigafactory/schema";
import { type Collections, isDuplicateKey } from "../../db/collections.js";

/** How a run ended. */
export type RunEnd = Pick<Run, "result" | "endedAt"> &
  Partial<Pick<Run, "insights" | "exit" | "verifyResult" | "reason">>;

/** The fields the fleet statistics read of a finished run. */
export type RunSummary = Pick<
  Run,
  "jobId" | "result" | "engine" | "profileSnapshot" | "insights" | "startedAt" | "endedAt"
>;

/** The `runs` collection: one document per attempt, written at the claim and ended once. */
export class RunsRepository {
  /** `ended`: told of each run this repository ended (the metrics count them here, once). */
  constructor(
    private readonly cols: Collections,
    private readonly ended?: (run: Run) => void,
  ) {}

  start(run: Run): Promise<unknown> {
    return this.cols.runs.insertOne(run);
  }

  /** Starts several runs in one write (a multi-seat claim); unordered, and throws when one fails. */
  startEach(runs: Run[]): Promise<unknown> {
    if (runs.length === 1 && runs[0]) return this.cols.runs.insertOne(runs[0]);
    return runs.length ? this.cols.runs.insertMany(runs, { ordered: false }) : Promise.resolve();
  }

  /** Starts the run unless it exists (a retried claim finishing what its first try began); true when it did. */
  async startOnce(run: Run): Promise<boolean> {
    try {
      await this.cols.runs.insertOne(run);
      return true;
    } catch (error) {
      if (isDuplicateKey(error)) return false;
      throw error;
    }
  }

  /** Ends a run once: a run that already has a result (another path got there first) keeps it. */
  async finish(runId: string | null, end: RunEnd): Promise<Run | null> {
    const run = await this.cols.runs.findOneAndUpdate(
      { _id: runId ?? "", result: { $exists: false } },
      { $set: end },
      { returnDocument: "after" },
    );
    if (run) this.ended?.(run);
    return run;
  }

  /** Ends the run of `fence` (its job, epoch and factory) once, as {@link finish} does. */
  async finishEpoch(
    fence: { productId: string; jobId: string; epoch: number; factoryId: string },
    end: RunEnd,
  ): Promise<Run | null> {
    const { productId, jobId, epoch, factoryId } = fence;
    const run = await this.cols.runs.findOneAndUpdate(
      { jobId, productId, epoch, factoryId, result: { $exists: false } },
      { $set: end },
      { returnDocument: "after" },
    );
    if (run) this.ended?.(run);
    return run;
  }

  /** A job's runs with no result, from epoch `below` down (all when it is absent), newest first. */
  open(productId: string, jobId: string, below?: number): Promise<Run[]> {
    return this.cols.runs
      .find({
        jobId,
        productId,
        result: { $exists: false },
        ...(below !== undefined ? { epoch: { $lt: below } } : {}),
      })
      .sort({ epoch: -1 })
      .toArray();
  }

  /** A job's attempts, first to last (index `by_job`). */
  forJob(productId: string, jobId: string): Promise<Run[]> {
    return this.cols.runs.find({ jobId, productId }).sort({ attempt: 1 }).toArray();
  }

  /** Finished runs of a product, newest first, ended at or after `since` when given (index `insights`). */
  finished(productId: string, opts: { since?: Date | undefined; limit: number }): Promise<RunSummary[]> {
    return this.cols.runs
      .find(
        { productId, result: { $exists: true }, ...(opts.since ? { endedAt: { $gte: opts.since } } : {}) },
        { projection: { result: 1, engine: 1, profileSnapshot: 1, insights: 1, startedAt: 1, endedAt: 1, jobId: 1 } },
      )
      .sort({ endedAt: -1 })
      .limit(opts.limit)
      .toArray();
  }
}
