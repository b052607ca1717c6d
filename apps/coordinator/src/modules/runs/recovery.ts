import type { EventType, Job } from "@gigafactory/schema";
import type { EventLog } from "../events/event-log.js";
import type { RunsRepository } from "./runs.repository.js";

/**
 * Repairs what a request that died right after a stage change leaves besides its follow-ups: the
 * lifecycle event whose seq the change reserved, never written (a hole in the job's events), and
 * the run it ended, still open. Run from the reaper's catch-up (`OutcomesService.catchUp`) for
 * jobs whose follow-ups have been owed for longer than `settleGraceMs`, so a request that is only
 * slow is not raced. Both repairs are idempotent: a seq is filled only while empty, a run ended
 * only while it has no result.
 */
export class Recovery {
  constructor(private readonly deps: { runs: RunsRepository; events: EventLog }) {}

  async repair(job: Job): Promise<void> {
    await this.fillHoles(job);
    await this.endRuns(job);
  }

  /**
   * Fills the job's holes. While a factory holds the job only those before its lease's first event
   * are filled: the holder's own writes may still be on their way. The last reserved seq of an
   * unheld job is the stage change's own event and is rebuilt from the job; any other is `recovered`.
   */
  async fillHoles(job: Job): Promise<void> {
    const { events } = this.deps;
    let upTo = job.eventSeq;
    if (job.lease.holder !== null) {
      const first = await events.repository.firstSeqOfEpoch(job._id, job.lease.epoch);
      if (first === null) return;
      upTo = first - 1;
    }
    for (const seq of await events.repository.holes(job._id, upTo)) {
      const event =
        seq === job.eventSeq && job.lease.holder === null
          ? rebuiltEvent(job)
          : { type: "recovered" as const, data: { recovered: true } };
      await events.fill(job, seq, event.type, event.data);
    }
  }

  /**
   * Ends the job's open runs that no lease holds any more: the newest with the job's last result
   * (how the stage change that crashed ended it), older ones `fenced` (a newer lease superseded them).
   */
  private async endRuns(job: Job): Promise<void> {
    const held = job.lease.holder !== null;
    const open = await this.deps.runs.open(job.productId, job._id, held ? job.lease.epoch : undefined);
    for (const [index, run] of open.entries()) {
      const result = index === 0 && job.lastResult ? job.lastResult : "fenced";
      await this.deps.runs.finish(run._id, {
        result,
        endedAt: index === 0 ? job.updatedAt : new Date(),
        reason:
          result === "fenced"
            ? `superseded: the job is at epoch ${job.lease.epoch}`
            : "ended by the reaper's catch-up: its coordinator stopped before recording it",
      });
    }
  }
}

/** The lifecycle event of the stage change that left `job` where it is, as far as the job tells. */
export function rebuiltEvent(job: Job): { type: EventType; data: Record<string, unknown> } {
  const data: Record<string, unknown> = {
    recovered: true,
    stage: job.stage,
    attempt: job.attempt,
    ...(job.lastResult ? { result: job.lastResult } : {}),
    ...(job.reason ? { reason: job.reason } : {}),
  };
  switch (job.stage) {
    case "shipped":
      return { type: "completed", data };
    case "failed":
      return { type: "failed", data };
    case "cancelled":
      return { type: "cancelled", data };
    case "review":
      return { type: job.awaitingApproval ? "approval_requested" : "recovered", data };
    case "inbox":
      if (job.lastResult === "lost") return { type: "lost", data };
      return { type: job.lastResult === "released" ? "released" : "requeued", data };
    default:
      return { type: "recovered", data };
  }
}
