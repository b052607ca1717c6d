import {
  type JobCreate,
  JobCreateInput,
  JobFileFrontmatter,
  formatDuration,
  JOB_LIMITS,
  jobFileToCreateInput,
} from "@gigafactory/schema";
import { type Document, isMap, isNode, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import type { z } from "zod";
import { type JobFileError, JobFileParseError } from "./job-file-error.js";
import { splitFrontmatter } from "./split-frontmatter.js";

export interface ParseJobFileOptions {
  /** The file's name, copied into each error and shown in messages (`hello.md:3: …`). */
  file?: string;
}

export type ParseJobFileResult =
  | {
      ok: true;
      /** The `jobs.create` input, validated, with the schema's defaults applied. */
      input: JobCreate;
      /** The frontmatter as given: plain values from the YAML, unknown keys included. */
      frontmatter: Record<string, unknown>;
    }
  | { ok: false; errors: JobFileError[] };

type Issue = z.ZodError["issues"][number];
type PathPart = string | number;
/** The 1-based file line of the value at `path` in the frontmatter, when the YAML has it. */
type Locate = (path: readonly PathPart[]) => number | undefined;

/**
 * Reads a job file: markdown with optional YAML frontmatter between `---` lines. The
 * frontmatter becomes the job's options and its manifest (as given); the rest of the file
 * is the body, verbatim. Never throws: every problem comes back with its field and line.
 */
export function parseJobFile(text: string, opts: ParseJobFileOptions = {}): ParseJobFileResult {
  const fail = (errors: JobFileError[]): ParseJobFileResult => ({
    ok: false,
    errors: opts.file === undefined ? errors : errors.map((error) => ({ ...error, file: opts.file })),
  });

  const split = splitFrontmatter(text);
  if (split.kind === "unclosed") {
    return fail([
      { line: 1, message: "the frontmatter opened by --- on line 1 is never closed (end it with a line of ---)" },
    ]);
  }

  let manifest: Record<string, unknown> = {};
  let locate: Locate = () => undefined;
  const bodyLine = split.kind === "frontmatter" ? split.bodyLine : 1;
  if (split.kind === "frontmatter") {
    const read = readFrontmatter(split.yaml, split.yamlLine);
    if (!read.ok) return fail(read.errors);
    manifest = read.manifest;
    locate = read.locate;
  }

  const errors: JobFileError[] = [];
  const front = JobFileFrontmatter.safeParse(manifest);
  if (!front.success) errors.push(...front.error.issues.map((issue) => frontmatterError(issue, manifest, locate)));
  if (split.body.trim() === "") {
    errors.push({
      field: "body",
      line: bodyLine,
      message: "is empty: write the job's instructions after the frontmatter",
    });
  }
  if (!front.success || errors.length > 0) return fail(errors);

  const input = JobCreateInput.safeParse(jobFileToCreateInput(front.data, split.body, manifest));
  if (!input.success)
    return fail(input.error.issues.map((issue) => createInputError(issue, manifest, locate, bodyLine)));
  return { ok: true, input: input.data, frontmatter: manifest };
}

/** Like {@link parseJobFile}, but throws a {@link JobFileParseError} listing every problem. */
export function parseJobFileOrThrow(text: string, opts: ParseJobFileOptions = {}): JobCreate {
  const result = parseJobFile(text, opts);
  if (!result.ok) throw new JobFileParseError(result.errors);
  return result.input;
}

type ReadFrontmatter =
  | { ok: true; manifest: Record<string, unknown>; locate: Locate }
  | { ok: false; errors: JobFileError[] };

function readFrontmatter(yaml: string, firstLine: number): ReadFrontmatter {
  const lineCounter = new LineCounter();
  const doc = parseDocument(yaml, { lineCounter, prettyErrors: false });
  const lineAt = (offset: number) => lineCounter.linePos(offset).line + firstLine - 1;
  if (doc.errors.length > 0) return { ok: false, errors: yamlErrors(doc, lineAt) };

  const contents = doc.contents;
  if (contents !== null && !isMap(contents)) {
    const kind = isSeq(contents) ? "a list" : "a single value";
    const line = contents.range ? lineAt(contents.range[0]) : firstLine;
    return {
      ok: false,
      errors: [{ line, message: `the frontmatter must be a mapping of keys to values (key: value), not ${kind}` }],
    };
  }

  let value: unknown;
  try {
    value = doc.toJS();
  } catch (error) {
    // e.g. an alias bomb (too many alias expansions)
    return {
      ok: false,
      errors: [{ line: firstLine, message: `the frontmatter cannot be read: ${(error as Error).message}` }],
    };
  }
  const manifest = isRecord(value) ? value : {};

  const locate: Locate = (path) => {
    const [key] = path;
    const pair = isMap(contents)
      ? contents.items.find((item) => isScalar(item.key) && String(item.key.value) === key)
      : undefined;
    if (!pair) return undefined;
    // a list item or nested key points at its own line when the YAML has that node
    for (let depth = path.length; depth > 1; depth -= 1) {
      const node = doc.getIn(path.slice(0, depth), true);
      if (isNode(node) && node.range) return lineAt(node.range[0]);
    }
    return isNode(pair.key) && pair.key.range ? lineAt(pair.key.range[0]) : undefined;
  };
  return { ok: true, manifest, locate };
}

/** One error per line, attributed to the top-level key whose value is broken when there is one. */
function yamlErrors(doc: Document, lineAt: (offset: number) => number): JobFileError[] {
  const pairs = isMap(doc.contents) ? doc.contents.items : [];
  const errors: JobFileError[] = [];
  for (const error of doc.errors) {
    const at = error.pos[0];
    const pair = pairs.find((item) => {
      const start = isNode(item.key) ? item.key.range?.[0] : undefined;
      const end = isNode(item.value) ? item.value.range?.[1] : isNode(item.key) ? item.key.range?.[1] : undefined;
      return start !== undefined && end !== undefined && start <= at && at <= end;
    });
    const field =
      pair && isScalar(pair.key) && pair.key.value !== null && pair.key.value !== ""
        ? String(pair.key.value)
        : undefined;
    // an unclosed quote or bracket is reported where the parser gave up (often the end
    // of the frontmatter); the line where that value starts is the one to fix
    const value = pair?.value;
    const unclosed = isNode(value) && value.range && at >= value.range[1] && opensAndCloses(value);
    const line = unclosed && value.range ? lineAt(value.range[0]) : lineAt(at);
    if (errors.some((seen) => seen.line === line)) continue;
    errors.push({ ...(field === undefined ? {} : { field }), line, message: `invalid YAML: ${error.message}` });
  }
  return errors;
}

/** A quoted scalar or a flow collection: a value that can be left unclosed. */
function opensAndCloses(node: Node): boolean {
  if (isScalar(node)) return node.type === "QUOTE_DOUBLE" || node.type === "QUOTE_SINGLE";
  return (isMap(node) || isSeq(node)) && node.flow === true;
}

function frontmatterError(issue: Issue, manifest: Record<string, unknown>, locate: Locate): JobFileError {
  const path = issue.path.filter((part): part is PathPart => typeof part !== "symbol");
  const [field] = path;
  if (field === undefined) return { message: issue.message };
  return withPath(
    { field: String(field), line: locate(path), message: describeIssue(issue, valueAt(manifest, path)) },
    path,
  );
}

/** Keys of the create input → the frontmatter key a user wrote (see `jobFileToCreateInput`). */
const FRONTMATTER_KEY: Readonly<Record<string, string>> = {
  engineClass: "engine-class",
  depsMode: "deps-mode",
  idempotencyKey: "idempotency-key",
  trackerItemId: "tracker-item",
  timeoutMs: "timeout",
  maxAttempts: "max-attempts",
  notBefore: "not-before",
  baseRef: "base-ref",
  parentId: "parent",
  bodyMd: "body",
};

function createInputError(
  issue: Issue,
  manifest: Record<string, unknown>,
  locate: Locate,
  bodyLine: number,
): JobFileError {
  const [key, ...rest] = issue.path.filter((part): part is PathPart => typeof part !== "symbol");
  if (key === undefined || key === "manifest") return { message: issue.message };
  let field = FRONTMATTER_KEY[key] ?? String(key);
  // derived values: the key from tracker-item, the title from the body
  if (field === "idempotency-key" && !("idempotency-key" in manifest)) field = "tracker-item";
  if (field === "title" && !("title" in manifest)) field = "body";
  const line = field === "body" ? bodyLine : locate([field]);
  const message =
    key === "timeoutMs" && (issue.code === "too_small" || issue.code === "too_big")
      ? `must be more than 0 and at most ${formatDuration(JOB_LIMITS.maxTimeoutMs)}`
      : issue.message;
  return withPath({ field, line, message }, [field, ...rest]);
}

function withPath(error: JobFileError, path: PathPart[]): JobFileError {
  return path.length > 1 ? { ...error, path } : error;
}

function describeIssue(issue: Issue, value: unknown): string {
  if (issue.code === "invalid_type") return `must be ${describeType(issue.expected)}, not ${describeValue(value)}`;
  if (issue.code === "invalid_union") {
    const options = issue.errors.flatMap((branch) => {
      const [first] = branch;
      if (!first) return [];
      const option =
        first.code === "invalid_type"
          ? describeType(first.expected)
          : first.code === "invalid_value"
            ? `one of ${first.values.join(", ")}`
            : first.message;
      return first.path.length > 0 ? [`a mapping with ${first.path.join(".")}: ${option}`] : [option];
    });
    return `must be ${[...new Set(options)].join(" or ")}, not ${describeValue(value)}`;
  }
  return issue.message;
}

function describeType(expected: string): string {
  const names: Record<string, string> = {
    array: "a list",
    object: "a mapping",
    boolean: "true or false",
    int: "a whole number",
  };
  return names[expected] ?? `a ${expected}`;
}

function describeValue(value: unknown): string {
  if (value === null || value === undefined) return "empty";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return String(value);
}

function valueAt(root: unknown, path: readonly PathPart[]): unknown {
  let value = root;
  for (const part of path) {
    if (Array.isArray(value) && typeof part === "number") value = value[part];
    else if (isRecord(value)) value = value[String(part)];
    else return undefined;
  }
  return value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
