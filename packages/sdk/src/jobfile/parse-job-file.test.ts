import { readFileSync } from "node:fs";
import { JOB_LIMITS } from "@gigafactory/schema";
import { describe, expect, it } from "vitest";
import {
  type JobFileError,
  JobFileParseError,
  formatJobFileError,
  parseJobFile,
  parseJobFileOrThrow,
} from "./index.js";

const fixture = (name: string) => readFileSync(new URL(`../../test/fixtures/jobfiles/${name}`, import.meta.url));

/** The errors of a file that must not parse; fails the test if it does. */
function errorsOf(text: string, file?: string): JobFileError[] {
  const result = parseJobFile(text, file === undefined ? {} : { file });
  expect(result.ok).toBe(false);
  expect(result).not.toHaveProperty("input");
  return result.ok ? [] : result.errors;
}

function parsed(text: string) {
  const result = parseJobFile(text);
  if (!result.ok) throw new Error(`expected the file to parse:\n${result.errors.map(formatJobFileError).join("\n")}`);
  return result;
}

/** The bytes after the closing fence, found without the parser: the second `---` line. */
function bytesAfterFrontmatter(bytes: Buffer): Buffer {
  const first = bytes.indexOf("---\n");
  expect(first).toBe(0);
  const closing = bytes.indexOf("\n---\n", first + 3);
  expect(closing).toBeGreaterThan(0);
  return bytes.subarray(closing + "\n---\n".length);
}

describe("the predecessor's job files", () => {
  const cases = [
    {
      file: "phase2-slice1.md",
      frontmatter: {
        engine: "devin",
        cwd: "/Users/sd9235/code/mygh/learning_ai_common_plat",
        yolo: true,
        lock: "common-plat",
        timeout: "4h",
      },
      timeoutMs: 14_400_000,
      title: "ROLE: Senior backend/distributed-systems engineer. Implement Phase 2 — Slice 1:",
      bodyEnd: "+ reaper + fencing (leaseEpoch) — the concurrency core.",
    },
    {
      file: "phase1-slice4.md",
      frontmatter: {
        engine: "devin",
        cwd: "/Users/sd9235/code/mygh/learning_ai_devops_tools",
        yolo: true,
        lock: "devops-tools",
        timeout: "3h",
      },
      timeoutMs: 10_800_000,
      title:
        "ROLE: Senior engineer. Implement Phase 1 — Slice 4: TRACKER ADAPTER (single host). This CLOSES Phase 1: a task in the tracker can become a job, and job outcomes echo back to the tracker — the task<->j",
      bodyEnd: "Phase 2 Slice 1 (fleet data model + repositories in platform-service)",
    },
  ];

  describe.each(cases)("$file", ({ file, frontmatter, timeoutMs, title, bodyEnd }) => {
    const bytes = fixture(file);
    const text = bytes.toString("utf8");

    it("parses", () => {
      expect(parseJobFile(text, { file }).ok).toBe(true);
    });

    it("keeps every frontmatter key with its given value, in the result and the manifest", () => {
      const result = parsed(text);
      expect(result.frontmatter).toEqual(frontmatter);
      expect(Object.keys(result.frontmatter)).toEqual(["engine", "cwd", "yolo", "lock", "timeout"]);
      expect(result.input.manifest).toEqual(frontmatter);
    });

    it("takes the body byte for byte", () => {
      const { input } = parsed(text);
      expect(Buffer.from(input.bodyMd, "utf8").equals(bytesAfterFrontmatter(bytes))).toBe(true);
      expect(input.bodyMd.startsWith("ROLE: Senior ")).toBe(true);
      expect(input.bodyMd.endsWith(bodyEnd)).toBe(true);
    });

    it("maps the frontmatter onto the create input", () => {
      const { input } = parsed(text);
      expect(input).toMatchObject({
        engine: "devin",
        cwd: frontmatter.cwd,
        lock: frontmatter.lock,
        timeoutMs,
        title,
        priority: 0,
        capabilities: [],
        review: { mode: "none" },
      });
      // yolo is the predecessor's own option: kept in the manifest, not a create-input field
      expect(input).not.toHaveProperty("yolo");
    });
  });

  it("phase2-slice1 has timeout 4h → 14,400,000 ms and keeps its report template in the body", () => {
    const { input } = parsed(fixture("phase2-slice1.md").toString("utf8"));
    expect(input.timeoutMs).toBe(14_400_000);
    expect(input.lock).toBe("common-plat");
    expect(input.bodyMd).toContain("\n## Implementation Report — Phase 2 Slice 1\n### Branch & commits\n");
  });

  it("works the same with CRLF line ends, keeping the body's CRLFs", () => {
    const lf = fixture("phase1-slice4.md").toString("utf8");
    const crlf = lf.replace(/\n/g, "\r\n");
    const fromLf = parsed(lf);
    const fromCrlf = parsed(crlf);
    expect(fromCrlf.frontmatter).toEqual(fromLf.frontmatter);
    expect(fromCrlf.input.timeoutMs).toBe(10_800_000);
    expect(fromCrlf.input.bodyMd).toBe(fromLf.input.bodyMd.replace(/\n/g, "\r\n"));
    expect(fromCrlf.input.bodyMd.startsWith("ROLE: ")).toBe(true);
  });
});

describe("broken YAML", () => {
  it("reports an unclosed quote on the line of the key whose value it opens", () => {
    const text = ["---", "engine: shell", 'title: "unclosed', "timeout: 4h", "---", "echo hi", ""].join("\n");
    const errors = errorsOf(text);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ field: "title", line: 3 });
    expect(errors[0]?.message).toMatch(/^invalid YAML: .*quote/);
  });

  it("reports an unclosed flow list on its key's line", () => {
    const errors = errorsOf(
      ["---", "engine: shell", "capabilities: [os:linux, gpu", "lock: main", "---", "echo hi"].join("\n"),
    );
    expect(errors[0]).toMatchObject({ field: "capabilities", line: 3 });
  });

  it("reports bad indentation on the offending line", () => {
    const text = ["---", "engine: shell", "review:", "  mode: human", " engine: codex", "---", "echo hi"].join("\n");
    const errors = errorsOf(text);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ field: "review", line: 5 });
    expect(errors[0]?.message).toMatch(/^invalid YAML: /);
  });

  it("reports a tab used as indentation", () => {
    const errors = errorsOf(["---", "engine: shell", "\tlock: x", "---", "echo hi"].join("\n"));
    expect(errors.map((error) => error.line)).toEqual([3]);
    expect(errors[0]?.message).toMatch(/tab/i);
  });

  it("reports a duplicate key on its second occurrence", () => {
    const errors = errorsOf(["---", "engine: shell", "", "# again", "engine: codex", "---", "echo hi"].join("\n"));
    expect(errors).toEqual([{ field: "engine", line: 5, message: "invalid YAML: Map keys must be unique" }]);
  });

  it("counts lines in CRLF files the same way", () => {
    const text = ["---", "engine: shell", "review:", "  mode: human", " engine: codex", "---", "echo hi"].join("\r\n");
    expect(errorsOf(text)[0]).toMatchObject({ field: "review", line: 5 });
  });

  it("refuses frontmatter that is a list, not a mapping", () => {
    const errors = errorsOf(["---", "- engine", "- shell", "---", "echo hi"].join("\n"));
    expect(errors).toHaveLength(1);
    expect(errors[0]?.line).toBe(2);
    expect(errors[0]?.field).toBeUndefined();
    expect(errors[0]?.message).toMatch(/must be a mapping.*not a list/);
  });

  it("refuses frontmatter that is a single value", () => {
    expect(errorsOf(["---", "just some words", "---", "echo hi"].join("\n"))[0]?.message).toMatch(/not a single value/);
  });

  it("refuses frontmatter that is never closed", () => {
    expect(errorsOf(["---", "engine: shell", "echo hi", ""].join("\n"))).toEqual([
      { line: 1, message: expect.stringMatching(/never closed/) },
    ]);
    expect(errorsOf("---")[0]?.line).toBe(1);
  });
});

describe("invalid values", () => {
  const file = (...front: string[]) => ["---", ...front, "---", "echo hi", ""].join("\n");

  it("names the field and line of a bad duration", () => {
    const errors = errorsOf(file("engine: shell", "timeout: 4 hours"), "hello.md");
    expect(errors).toEqual([
      {
        field: "timeout",
        line: 3,
        message: 'invalid duration "4 hours" (use e.g. 90s, 30m, 4h, 1h30m)',
        file: "hello.md",
      },
    ]);
  });

  it("throws one error listing the problems as file:line: field: message", () => {
    const text = file("engine: shell", "timeout: 4 hours");
    let thrown: unknown;
    try {
      parseJobFileOrThrow(text, { file: "hello.md" });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(JobFileParseError);
    expect(thrown).toBeInstanceOf(Error);
    const error = thrown as JobFileParseError;
    expect(error.name).toBe("JobFileParseError");
    expect(error.message).toBe('hello.md:3: timeout: invalid duration "4 hours" (use e.g. 90s, 30m, 4h, 1h30m)');
    expect(error.issues).toEqual([{ field: "timeout", line: 3, message: expect.any(String), file: "hello.md" }]);
  });

  it("names priority given as a list", () => {
    const errors = errorsOf(file("engine: shell", "", "priority: [1, 2]"));
    expect(errors).toEqual([
      { field: "priority", line: 4, message: "must be a number or one of low, normal, high, urgent, not a list" },
    ]);
  });

  it("names max-attempts given as a word", () => {
    const errors = errorsOf(file("# how often to try", "max-attempts: three", "engine: shell"));
    expect(errors).toEqual([{ field: "max-attempts", line: 3, message: 'must be a number, not "three"' }]);
  });

  it("reports every bad field at once, each on its own line", () => {
    const errors = errorsOf(file("priority: [1, 2]", 'max-attempts: "three"', "timeout: 4 hours"), "multi.md");
    expect(errors.map((error) => [error.field, error.line])).toEqual([
      ["priority", 2],
      ["timeout", 4],
      ["max-attempts", 3],
    ]);
    expect(() => parseJobFileOrThrow(file("priority: [1, 2]", 'max-attempts: "three"'), { file: "multi.md" })).toThrow(
      /^multi\.md:2: priority: .*\nmulti\.md:3: max-attempts: must be a number, not "three"$/,
    );
  });

  it("points at a bad list item's own line", () => {
    const errors = errorsOf(file("capabilities:", "  - os:linux", "  - has space"));
    expect(errors).toEqual([
      { field: "capabilities", path: ["capabilities", 1], line: 4, message: "must be a label like os:linux" },
    ]);
    expect(formatJobFileError(errors[0] as JobFileError)).toBe(
      "line 4: capabilities[1]: must be a label like os:linux",
    );
  });

  it("points at the key for a bad item in a comma-separated list", () => {
    expect(errorsOf(file("engine: shell", "capabilities: os:linux, has space"))[0]).toMatchObject({
      field: "capabilities",
      line: 3,
    });
  });

  it("names a bad nested review mode", () => {
    const errors = errorsOf(file("review:", "  mode: later"));
    expect(errors[0]).toMatchObject({ field: "review", line: 2 });
    expect(errors[0]?.message).toMatch(/one of none, engine, human/);
  });

  it("names a value that only the create input refuses: a zero timeout", () => {
    expect(errorsOf(file("engine: shell", "timeout: 0s"))).toEqual([
      { field: "timeout", line: 3, message: "must be more than 0 and at most 168h" },
    ]);
  });

  it("names the parent key for a malformed parent job id", () => {
    expect(errorsOf(file("parent: has space"))[0]).toMatchObject({ field: "parent", line: 2 });
  });

  it("names the profile key for version 0", () => {
    expect(errorsOf(file("engine: shell", "profile: reviewer@0"))[0]).toMatchObject({
      field: "profile",
      path: ["profile", "version"],
      line: 3,
    });
  });

  it("names an empty value", () => {
    expect(errorsOf(file("engine:"))).toEqual([{ field: "engine", line: 2, message: "must be a string, not empty" }]);
  });
});

describe("the body", () => {
  it("is everything after the closing fence's newline, whitespace untouched", () => {
    const body = "\n  indented first line\t\n\n# Heading\n\ntrailing   \n\n";
    expect(parsed(`---\nengine: shell\n---\n${body}`).input.bodyMd).toBe(body);
  });

  it("may itself contain --- lines", () => {
    const body = "Part one\n---\nPart two\n";
    expect(parsed(`---\nengine: shell\n---\n${body}`).input.bodyMd).toBe(body);
  });

  it("gives the title when the frontmatter has none", () => {
    expect(parsed("---\nengine: shell\n---\n\n# Build the thing\n\nDetails.\n").input.title).toBe("Build the thing");
  });

  it("must not be empty", () => {
    expect(errorsOf("---\nengine: shell\n---\n")).toEqual([
      { field: "body", line: 4, message: expect.stringMatching(/empty/) },
    ]);
    expect(errorsOf("---\nengine: shell\n---")).toMatchObject([{ field: "body" }]);
    expect(errorsOf("---\r\nengine: shell\r\n---\r\n \r\n\t\r\n")).toMatchObject([{ field: "body", line: 4 }]);
    expect(errorsOf("")).toMatchObject([{ field: "body", line: 1 }]);
  });

  it("is reported together with frontmatter errors", () => {
    expect(errorsOf("---\ntimeout: soon\n---\n").map((error) => error.field)).toEqual(["timeout", "body"]);
  });

  it("must fit the size limit", () => {
    const body = "x".repeat(JOB_LIMITS.bodyMdMaxBytes + 1);
    expect(errorsOf(`---\nengine: shell\n---\n${body}`)).toEqual([
      { field: "body", line: 4, message: `must be at most ${JOB_LIMITS.bodyMdMaxBytes} bytes` },
    ]);
  });
});

describe("files without frontmatter", () => {
  it("are all body, with the default engine and an empty manifest", () => {
    const text = "# Say hello\n\necho hello\n";
    const result = parsed(text);
    expect(result.frontmatter).toEqual({});
    expect(result.input).toMatchObject({ bodyMd: text, engine: "shell", manifest: {}, title: "Say hello" });
  });

  it("need the fence on the very first line", () => {
    const text = "\n---\nengine: devin\n---\nbody\n";
    const result = parsed(text);
    expect(result.input.bodyMd).toBe(text);
    expect(result.input.engine).toBe("shell");
  });

  it("may start with a byte-order mark, which is not part of the body", () => {
    expect(parsed("\uFEFFecho hi\n").input.bodyMd).toBe("echo hi\n");
    expect(parsed("\uFEFF---\nengine: codex\n---\necho hi\n").input).toMatchObject({
      engine: "codex",
      bodyMd: "echo hi\n",
    });
  });
});

describe("frontmatter values", () => {
  it("keeps unknown keys as given, without transforming values", () => {
    const text = [
      "---",
      "engine: claude-code",
      "yolo: true",
      "owner:",
      "  team: platform",
      "  pager: 3",
      "tags: [fleet, p2]",
      "due: 2026-01-02",
      "ratio: 0.5",
      "nothing:",
      "priority: high",
      "timeout: 90m",
      "---",
      "Do it.",
    ].join("\n");
    const result = parsed(text);
    const given = {
      engine: "claude-code",
      yolo: true,
      owner: { team: "platform", pager: 3 },
      tags: ["fleet", "p2"],
      due: "2026-01-02",
      ratio: 0.5,
      nothing: null,
      priority: "high",
      timeout: "90m",
    };
    expect(result.frontmatter).toEqual(given);
    expect(result.input.manifest).toEqual(given);
    expect(result.input.priority).toBe(10);
    expect(result.input.timeoutMs).toBe(5_400_000);
  });

  it("maps the job-file keys onto the create input", () => {
    const text = [
      "---",
      "title: Import tracker item",
      "engine: codex",
      "profile: backend-engineer@3",
      "capabilities: os:linux, gpu",
      "tracker-item: T-42",
      "deps: [job-a]",
      "verify: pnpm test",
      "review: human",
      "max-attempts: 2",
      "not-before: 2026-01-02T03:04:05Z",
      "---",
      "Body.",
    ].join("\n");
    expect(parsed(text).input).toMatchObject({
      title: "Import tracker item",
      engine: "codex",
      profile: { name: "backend-engineer", version: 3 },
      capabilities: ["os:linux", "gpu"],
      trackerItemId: "T-42",
      idempotencyKey: "tracker-T-42",
      deps: ["job-a"],
      verify: ["pnpm test"],
      review: { mode: "human" },
      maxAttempts: 2,
      notBefore: new Date("2026-01-02T03:04:05Z"),
    });
  });

  it("accepts empty frontmatter", () => {
    expect(parsed("---\n---\necho hi\n").frontmatter).toEqual({});
    expect(parsed("---\n# just a comment\n---\necho hi\n").input.engine).toBe("shell");
  });

  it("returns the input from parseJobFileOrThrow on success", () => {
    expect(parseJobFileOrThrow("---\nlock: main\n---\necho hi\n")).toMatchObject({ lock: "main", bodyMd: "echo hi\n" });
  });
});
