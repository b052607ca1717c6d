import type { Job } from "@gigafactory/schema";

/**
 * The job a reviewer engine runs in `review`: the same workspace, instructions that ask it to
 * check the change against the original ones and exit non-zero (or report an error) to reject.
 */
export function reviewJob(
  job: Pick<Job, "_id" | "bodyMd" | "timeoutMs" | "engine" | "review" | "command">,
): Pick<Job, "_id" | "bodyMd" | "timeoutMs" | "engine" | "command"> {
  const engine = job.review.engine ?? job.engine;
  const bodyMd = [
    "You are reviewing a change another agent made in this working directory (see `git diff HEAD~1` and uncommitted files).",
    "Check it against the original instructions below. Fix small problems yourself; if the change is wrong or incomplete, say why and fail.",
    "",
    "## Original instructions",
    "",
    job.bodyMd,
  ].join("\n");
  // a shell job's review is its own command run again in the changed workspace (a re-check)
  return {
    _id: job._id,
    bodyMd,
    timeoutMs: job.timeoutMs,
    engine,
    ...(engine === "shell" && job.command ? { command: job.command } : {}),
  };
}
