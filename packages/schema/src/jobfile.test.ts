import { describe, expect, it } from "vitest";
import { JobCreateInput } from "./api/jobs.js";
import { JobFileFrontmatter, PRIORITY_NAMES, jobFileToCreateInput, titleFromBody } from "./jobfile.js";

/** Frontmatter as the YAML gave it → a create input, as a job-file reader does it. */
function convert(manifest: Record<string, unknown>, body = "Do the thing.\n") {
  const front = JobFileFrontmatter.parse(manifest);
  return jobFileToCreateInput(front, body, manifest);
}

function rejectedAt(value: Record<string, unknown>): PropertyKey[][] {
  const result = JobFileFrontmatter.safeParse(value);
  if (result.success) throw new Error(`expected ${JSON.stringify(value)} to be rejected`);
  return result.error.issues.map((issue) => issue.path);
}

describe("jobFileToCreateInput", () => {
  it.each(Object.entries(PRIORITY_NAMES))("maps priority %s to %d", (name, value) => {
    expect(convert({ priority: name }).priority).toBe(value);
  });

  it("keeps a numeric priority", () => {
    expect(convert({ priority: -5 }).priority).toBe(-5);
  });

  it("splits comma-separated capabilities and keeps a list", () => {
    expect(convert({ capabilities: "os:linux, gpu ,docker" }).capabilities).toEqual(["os:linux", "gpu", "docker"]);
    expect(convert({ capabilities: ["os:mac"] }).capabilities).toEqual(["os:mac"]);
  });

  it("reads profile name@version, and a bare name without a version", () => {
    expect(convert({ profile: "backend-engineer@3" }).profile).toEqual({ name: "backend-engineer", version: 3 });
    expect(convert({ profile: "backend-engineer" }).profile).toEqual({ name: "backend-engineer" });
  });

  it("derives idempotencyKey tracker-<id> from tracker-item when none is given", () => {
    const input = convert({ "tracker-item": "T-1" });
    expect(input.idempotencyKey).toBe("tracker-T-1");
    expect(input.trackerItemId).toBe("T-1");
    expect(convert({ "tracker-item": 42 }).idempotencyKey).toBe("tracker-42");
  });

  it("keeps a given idempotency-key over the tracker-derived one", () => {
    const input = convert({ "tracker-item": "T-1", "idempotency-key": "mine" });
    expect(input.idempotencyKey).toBe("mine");
    expect(input.trackerItemId).toBe("T-1");
  });

  it("leaves idempotencyKey unset without either key", () => {
    expect(convert({ engine: "shell" })).not.toHaveProperty("idempotencyKey");
  });

  it("reads the review string form and the object form", () => {
    expect(convert({ review: "human" }).review).toEqual({ mode: "human" });
    expect(convert({ review: { mode: "engine", engine: "codex", profile: "reviewer@2" } }).review).toEqual({
      mode: "engine",
      engine: "codex",
      profile: "reviewer@2",
    });
  });

  it("maps the kebab-case keys onto the create input", () => {
    const manifest = {
      title: "Slice 4",
      engine: "devin",
      "engine-class": "agentic-coder",
      deps: "job-a, job-b",
      "deps-mode": "any",
      lock: "devops-tools",
      timeout: "3h",
      "max-attempts": 2,
      "not-before": "2026-01-02T03:04:05Z",
      verify: "pnpm test",
      repo: "git@example.com:acme/app.git",
      "base-ref": "main",
      cwd: "/srv/app",
      parent: "job-parent",
      yolo: true,
    };
    const input = convert(manifest, "body\n");
    expect(input).toEqual({
      bodyMd: "body\n",
      manifest,
      title: "Slice 4",
      engine: "devin",
      engineClass: "agentic-coder",
      deps: ["job-a", "job-b"],
      depsMode: "any",
      lock: "devops-tools",
      timeoutMs: 10_800_000,
      maxAttempts: 2,
      notBefore: new Date("2026-01-02T03:04:05Z"),
      verify: ["pnpm test"],
      repo: "git@example.com:acme/app.git",
      baseRef: "main",
      cwd: "/srv/app",
      parentId: "job-parent",
    });
    // the manifest is the frontmatter as given: same object, unknown keys and raw values kept
    expect(input.manifest).toBe(manifest);
    expect(JobCreateInput.safeParse(input).success).toBe(true);
  });

  it("takes the body verbatim and a title from it when the frontmatter has none", () => {
    const body = "\n# Fix the login bug\n\nSteps:\n  1. reproduce\n";
    const input = convert({}, body);
    expect(input.bodyMd).toBe(body);
    expect(input.title).toBe("Fix the login bug");
  });
});

describe("titleFromBody", () => {
  it("uses the first non-empty line when there is no top-level heading", () => {
    expect(titleFromBody("\n\nROLE: Senior engineer.\nMore.\n")).toBe("ROLE: Senior engineer.");
  });

  it("prefers a top-level heading", () => {
    expect(titleFromBody("Context first.\n\n# The task\n")).toBe("The task");
  });

  it("does not take a report template's lower heading as the title", () => {
    expect(titleFromBody("ROLE: engineer.\nFINAL OUTPUT:\n## Implementation Report\n### Files\n")).toBe(
      "ROLE: engineer.",
    );
  });

  it("ignores a shell comment inside a code fence", () => {
    expect(titleFromBody("Run this:\n```bash\n# install deps\npnpm i\n```\n")).toBe("Run this:");
  });

  it("cuts to 200 characters and is undefined for an empty body", () => {
    expect(titleFromBody("x".repeat(300))).toHaveLength(200);
    expect(titleFromBody(" \n\n")).toBeUndefined();
  });
});

describe("JobFileFrontmatter", () => {
  it("keeps unknown keys", () => {
    expect(JobFileFrontmatter.parse({ yolo: true, engine: "devin" })).toEqual({ yolo: true, engine: "devin" });
  });

  it("refuses a bad duration at timeout, naming the value", () => {
    const result = JobFileFrontmatter.safeParse({ timeout: "4 hours" });
    expect(result.error?.issues.map((issue) => [issue.path, issue.message])).toEqual([
      [["timeout"], 'invalid duration "4 hours" (use e.g. 90s, 30m, 4h, 1h30m)'],
    ]);
  });

  it.each([
    [{ priority: [1, 2] }, [["priority"]]],
    [{ priority: "highest" }, [["priority"]]],
    [{ priority: 1_001 }, [["priority"]]],
    [{ "max-attempts": "three" }, [["max-attempts"]]],
    [{ "max-attempts": 21 }, [["max-attempts"]]],
    [{ profile: "reviewer@latest" }, [["profile"]]],
    [{ capabilities: "os:linux, has space" }, [["capabilities", 1]]],
    [{ review: "maybe" }, [["review"]]],
    [{ "deps-mode": "some" }, [["deps-mode"]]],
    [{ engine: "Claude Code" }, [["engine"]]],
    [{ "not-before": "next tuesday" }, [["not-before"]]],
    [{ verify: 5 }, [["verify"]]],
  ])("refuses %j at the key", (value, paths) => {
    expect(rejectedAt(value)).toEqual(paths);
  });
});
