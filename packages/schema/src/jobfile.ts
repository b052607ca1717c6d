import { z } from "zod";
import type { JobCreateInput } from "./api/jobs.js";
import { Duration } from "./duration.js";
import { DepsMode, ReviewMode, VerifyCommand } from "./job.js";
import { Capability, EngineId, Name, commaList } from "./primitives.js";

/** Named priorities a job file may use instead of a number. */
export const PRIORITY_NAMES = { low: -10, normal: 0, high: 10, urgent: 100 } as const;

const ProfileSpec = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]*(@\d+)?$/, "must be a profile name, optionally name@version")
  .transform((spec) => {
    const at = spec.lastIndexOf("@");
    return at > 0 ? { name: spec.slice(0, at), version: Number(spec.slice(at + 1)) } : { name: spec };
  });

/**
 * The frontmatter of a job file (markdown with YAML frontmatter, as the predecessor's
 * agent-queue used). Keys are kebab-case; unknown keys are allowed and kept in the manifest.
 */
export const JobFileFrontmatter = z.looseObject({
  title: z.string().max(200).optional(),
  engine: EngineId.optional(),
  "engine-class": z.string().max(64).optional(),
  command: z.string().max(4_000).optional(),
  profile: ProfileSpec.optional(),
  priority: z
    .union([
      z.number().int().min(-1_000).max(1_000),
      z.enum(Object.keys(PRIORITY_NAMES) as [keyof typeof PRIORITY_NAMES]),
    ])
    .optional(),
  capabilities: commaList(Capability).optional(),
  deps: commaList(z.string().min(1).max(256)).optional(),
  "deps-mode": DepsMode.optional(),
  "idempotency-key": z
    .union([z.string().min(1).max(256), z.number()])
    .transform(String)
    .optional(),
  "tracker-item": z
    .union([z.string().min(1).max(256), z.number()])
    .transform(String)
    .optional(),
  lock: Name.optional(),
  timeout: Duration.optional(),
  "max-attempts": z.number().int().min(1).max(20).optional(),
  "not-before": z.coerce.date().optional(),
  verify: z.union([VerifyCommand.transform((command) => [command]), z.array(VerifyCommand)]).optional(),
  repo: z.string().max(1_000).optional(),
  "base-ref": z.string().max(256).optional(),
  cwd: z.string().max(1_000).optional(),
  /** `false`: no network for the engine and gates. */
  network: z.boolean().optional(),
  review: z
    .union([ReviewMode, z.object({ mode: ReviewMode, engine: EngineId.optional(), profile: Name.optional() }).strict()])
    .optional(),
  parent: z.string().max(128).optional(),
});
export type JobFileFrontmatter = z.output<typeof JobFileFrontmatter>;

/** Turns parsed frontmatter plus the verbatim body into a `jobs.create` input. */
export function jobFileToCreateInput(
  front: JobFileFrontmatter,
  bodyMd: string,
  manifest: Record<string, unknown>,
): JobCreateInput {
  const priority = typeof front.priority === "string" ? PRIORITY_NAMES[front.priority] : front.priority;
  const review = typeof front.review === "string" ? { mode: front.review } : front.review;
  const input: JobCreateInput = { bodyMd, manifest };
  const set = <K extends keyof JobCreateInput>(key: K, value: JobCreateInput[K] | undefined) => {
    if (value !== undefined) input[key] = value;
  };
  set("title", front.title ?? titleFromBody(bodyMd));
  set("engine", front.engine);
  set("engineClass", front["engine-class"]);
  set("command", front.command);
  set("profile", front.profile);
  set("priority", priority);
  set("capabilities", front.capabilities);
  set("deps", front.deps);
  set("depsMode", front["deps-mode"]);
  set(
    "idempotencyKey",
    front["idempotency-key"] ?? (front["tracker-item"] ? `tracker-${front["tracker-item"]}` : undefined),
  );
  set("trackerItemId", front["tracker-item"]);
  set("lock", front.lock);
  set("timeoutMs", front.timeout);
  set("maxAttempts", front["max-attempts"]);
  set("notBefore", front["not-before"]);
  set("verify", front.verify);
  set("repo", front.repo);
  set("baseRef", front["base-ref"]);
  set("cwd", front.cwd);
  set("network", front.network);
  set("review", review);
  set("parentId", front.parent);
  return input;
}

/**
 * The first top-level (`# `) heading outside code fences, else the first non-empty line,
 * cut to 200 characters. Lower headings are skipped on purpose: job files often end with a
 * report template (`## Implementation Report`) that is not the job's title, and a `#`
 * inside a code fence is a shell comment.
 */
export function titleFromBody(bodyMd: string): string | undefined {
  const lines = bodyMd
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean);
  let inFence = false;
  const heading = lines.find((line) => {
    if (/^(```|~~~)/.test(line)) inFence = !inFence;
    return !inFence && /^#(\s|$)/.test(line);
  });
  const title = (heading ?? lines[0])?.replace(/^#{1,6}(\s+|$)/, "").trim();
  return title ? title.slice(0, 200) : undefined;
}
