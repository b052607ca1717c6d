import type { Run } from "@gigafactory/schema";
import type { Collections } from "../../db/collections.js";

type RunEnd = Pick<Run, "result" | "endedAt"> & Partial<Pick<Run, "insights" | "exit" | "verifyResult" | "reason">>;

/** Ends a run once: a run that already has a result (another path got there first) keeps it. */
export function finishRun(cols: Collections, runId: string | null, end: RunEnd): Promise<unknown> {
  return cols.runs.updateOne({ _id: runId ?? "", result: { $exists: false } }, { $set: end });
}
