import { readdirSync, readlinkSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type Job, type JobEvent, type Run, isTerminalStage } from "@gigafactory/schema";
import type { PlannedJob } from "./workload.js";

/** Everything read back from the fleet after the run, per planned job. */
export interface Observed {
  planned: PlannedJob;
  job: Job;
  runs: Run[];
  events: JobEvent[];
}

export interface Verdict {
  name: string;
  ok: boolean;
  /** One line per violation (the first few are printed). */
  details: string[];
}

/** The events that end a job: the watcher must have seen the last one of each job. */
const ENDING_EVENTS = new Set(["completed", "failed", "dep_failed", "cancelled", "lost"]);
/** Which ending events end a job in each terminal stage (the reaper ends a last attempt with `lost`). */
const ENDS_BY_STAGE: Record<"shipped" | "failed" | "cancelled", string[]> = {
  shipped: ["completed"],
  failed: ["failed", "dep_failed", "lost"],
  cancelled: ["cancelled", "dep_failed"],
};

const describe = (each: Observed) => `${each.job._id} (${each.planned.shape})`;

function check(name: string, observed: Observed[], violation: (each: Observed) => string | undefined): Verdict {
  const details: string[] = [];
  for (const each of observed) {
    const found = violation(each);
    if (found) details.push(`${describe(each)}: ${found}`);
  }
  return { name, ok: details.length === 0, details };
}

export function checkJobs(
  observed: Observed[],
  opts: { feedSeen: Set<string>; byKey: Map<string, Observed> },
): Verdict[] {
  const { feedSeen, byKey } = opts;
  const completedAt = (each: Observed | undefined) => each?.events.find((event) => event.type === "completed")?.at;
  return [
    check("every job terminal", observed, ({ job }) =>
      isTerminalStage(job.stage) ? undefined : `still ${job.stage} (attempt ${job.attempt}/${job.maxAttempts})`,
    ),
    check("every job in its expected stage", observed, ({ job, planned }) =>
      !isTerminalStage(job.stage) || job.stage === planned.expected
        ? undefined
        : `expected ${planned.expected}, is ${job.stage} (attempt ${job.attempt}/${job.maxAttempts}, last result ${job.lastResult ?? "-"}, reason ${job.reason ?? "-"})`,
    ),
    check("no job has two successful runs", observed, ({ runs, job }) => {
      const successes = runs.filter((run) => run.result === "success").length;
      if (successes > 1) return `${successes} successful runs`;
      if (job.stage === "shipped" && job.kind === "leaf" && successes !== 1) return "shipped without a successful run";
      return undefined;
    }),
    check("the successful run holds the highest epoch", observed, ({ runs }) => {
      const success = runs.find((run) => run.result === "success");
      if (!success) return undefined;
      const highest = Math.max(...runs.map((run) => run.epoch));
      return success.epoch === highest ? undefined : `success at epoch ${success.epoch}, a run at epoch ${highest}`;
    }),
    check("every run of a terminal job has ended", observed, ({ runs, job }) => {
      if (!isTerminalStage(job.stage)) return undefined;
      const open = runs.filter((run) => run.result === undefined);
      return open.length === 0
        ? undefined
        : `open runs: ${open.map((run) => `attempt ${run.attempt} epoch ${run.epoch} on ${run.factoryId}`).join(", ")}`;
    }),
    check("event seqs are contiguous from 1", observed, ({ events, job }) => {
      const around = (i: number) =>
        events
          .slice(Math.max(0, i - 2), i + 2)
          .map((event) => `${event.seq} ${event.type}@e${event.epoch} ${event.at.toISOString()}`)
          .join(", ");
      for (let i = 0; i < events.length; i++) {
        if (events[i]?.seq !== i + 1) return `event #${i + 1} has seq ${events[i]?.seq} (${around(i)})`;
      }
      return events.length === job.eventSeq ? undefined : `${events.length} events, job says eventSeq ${job.eventSeq}`;
    }),
    check("dependents first claimed after their dependencies shipped", observed, (each) => {
      if (each.planned.deps.length === 0) return undefined;
      const claimed = each.events.find((event) => event.type === "claimed")?.at;
      if (!claimed) return undefined;
      const shippedAt = each.planned.deps.map((key) => ({ key, at: completedAt(byKey.get(key)) }));
      const before = shippedAt.filter((dep) => dep.at !== undefined && dep.at.getTime() <= claimed.getTime());
      const mode = each.job.depsMode;
      if (mode === "any" ? before.length > 0 : before.length === shippedAt.length) return undefined;
      const late = shippedAt
        .filter((dep) => !before.includes(dep))
        .map((dep) => `${byKey.get(dep.key)?.job._id} shipped ${dep.at?.toISOString() ?? "never"}`);
      return `claimed ${claimed.toISOString()} (deps ${mode}); ${late.join(", ")}`;
    }),
    check("a watcher on another coordinator saw each job end", observed, ({ events, job }) => {
      const ending = events.filter((event) => ENDING_EVENTS.has(event.type)).at(-1);
      if (!isTerminalStage(job.stage)) return undefined;
      // the event that says how the job ended, not one of an earlier attempt (a lost lease)
      const expected = ENDS_BY_STAGE[job.stage];
      if (!ending || !expected.includes(ending.type))
        return `${job.stage}, but its last ending event is ${ending ? `${ending.type} (seq ${ending.seq})` : "missing"}`;
      return feedSeen.has(`${ending.jobId}:${ending.seq}`)
        ? undefined
        : `feed missed ${ending.type} (seq ${ending.seq})`;
    }),
  ];
}

/** Processes (other than this one) whose cwd or command line is under one of `roots`. */
export function processesUnder(roots: string[]): string[] {
  const found: string[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let cwd = "";
    let cmdline = "";
    try {
      cwd = readlinkSync(join("/proc", entry, "cwd"));
    } catch {
      // not ours to read, or gone
    }
    try {
      cmdline = readFileSync(join("/proc", entry, "cmdline"), "utf8")
        .replaceAll("\0", " ")
        .trim();
    } catch {
      // gone
    }
    if (roots.some((root) => cwd.startsWith(root) || cmdline.includes(root))) found.push(`pid ${entry}: ${cmdline}`);
  }
  return found;
}

/** Workspaces (`<workDir>/jobs/<jobId>-e<epoch>`) still on disk for jobs that are terminal. */
export function leftoverWorkspaces(workDirs: string[], terminal: Set<string>): string[] {
  const found: string[] = [];
  for (const workDir of workDirs) {
    let entries: string[] = [];
    try {
      entries = readdirSync(join(workDir, "jobs"));
    } catch {
      continue;
    }
    for (const entry of entries) {
      const jobId = entry.replace(/-e\d+(\..*)?$/, "");
      if (terminal.has(jobId)) found.push(join(workDir, "jobs", entry));
    }
  }
  return found;
}
