/** One problem found in a job file. */
export interface JobFileError {
  /** The frontmatter key at fault (`timeout`, `priority`…), or `body`; absent for file-level problems. */
  field?: string;
  /** The full path of the value at fault when it is deeper than the key itself (`["capabilities", 1]`). */
  path?: (string | number)[];
  /** 1-based line in the whole file (the opening `---` is line 1). */
  line?: number;
  message: string;
  /** The file name given to the parser, for messages. */
  file?: string;
}

/** `hello.md:3: timeout: invalid duration "4 hours" (use e.g. 90s, 30m, 4h, 1h30m)` */
export function formatJobFileError(error: JobFileError): string {
  const where = error.file
    ? error.line
      ? `${error.file}:${error.line}`
      : error.file
    : error.line
      ? `line ${error.line}`
      : undefined;
  const what = error.field ? `${error.field}${formatSubPath(error.path?.slice(1) ?? [])}` : undefined;
  return [where, what, error.message].filter(Boolean).join(": ");
}

function formatSubPath(path: (string | number)[]): string {
  return path.map((part) => (typeof part === "number" ? `[${part}]` : `.${part}`)).join("");
}

/** Thrown by `parseJobFileOrThrow`; `issues` holds every problem, the message lists them one a line. */
export class JobFileParseError extends Error {
  override readonly name = "JobFileParseError";
  readonly issues: JobFileError[];

  constructor(issues: JobFileError[]) {
    super(issues.map(formatJobFileError).join("\n"));
    this.issues = issues;
  }
}
