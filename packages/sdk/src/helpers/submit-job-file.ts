import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import type { Job } from "@gigafactory/schema";
import type { GigafactoryClient } from "../client.js";
import { JobFileParseError } from "../jobfile/job-file-error.js";
import { parseJobFile } from "../jobfile/parse-job-file.js";

/** A job file to submit: a path on disk, or its text (with a name for error messages). */
export type JobFileSource = string | { path: string } | { text: string; file?: string };

export interface SubmitJobFileOptions {
  /** Cancels the `jobs.create` call (not a job that was already created). */
  signal?: AbortSignal;
}

export interface SubmitJobFileResult {
  job: Job;
  /** False when a job with the same idempotency key already existed; `job` is that job. */
  created: boolean;
}

/**
 * Reads and parses a job file (markdown with YAML frontmatter) and creates the job.
 * A plain string is a path. Throws {@link JobFileParseError} naming each bad field and its
 * line before anything is sent; the coordinator is only asked once the file is valid.
 */
export async function submitJobFile(
  client: GigafactoryClient,
  source: JobFileSource,
  opts: SubmitJobFileOptions = {},
): Promise<SubmitJobFileResult> {
  const { text, file } = await readSource(source);
  const parsed = parseJobFile(text, file === undefined ? {} : { file });
  if (!parsed.ok) throw new JobFileParseError(parsed.errors);
  return client.trpc.jobs.create.mutate(parsed.input, opts.signal ? { signal: opts.signal } : undefined);
}

async function readSource(source: JobFileSource): Promise<{ text: string; file?: string }> {
  if (typeof source === "string") return { text: await readFile(source, "utf8"), file: basename(source) };
  if ("path" in source) return { text: await readFile(source.path, "utf8"), file: basename(source.path) };
  return source.file === undefined ? { text: source.text } : { text: source.text, file: source.file };
}
