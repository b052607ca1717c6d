import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { ProfilePublishInput } from "@gigafactory/schema";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { formatJobFileError, parseJobFile } from "../src/index.js";
import { EXAMPLES } from "./support/run-gf.js";

describe("examples/", async () => {
  const files = (await readdir(EXAMPLES)).filter((name) => name.endsWith(".md") && name !== "README.md");

  it("has the job files the README lists", () => {
    expect(files.sort()).toEqual([
      "agent-task.md",
      "hello.md",
      "pipeline-build.md",
      "pipeline-deploy.md",
      "with-verify.md",
    ]);
  });

  it.each(files)("%s parses", async (name) => {
    const result = parseJobFile(await readFile(join(EXAMPLES, name), "utf8"), { file: name });
    expect(result.ok ? [] : result.errors.map(formatJobFileError)).toEqual([]);
  });

  it("with-verify.md has two verify gates and agent-task.md pins a profile for claude-code", async () => {
    const verify = parseJobFile(await readFile(join(EXAMPLES, "with-verify.md"), "utf8"));
    expect(verify.ok && verify.input.verify).toEqual(["test -s report.txt", "grep -q 'status: ok' report.txt"]);
    const agent = parseJobFile(await readFile(join(EXAMPLES, "agent-task.md"), "utf8"));
    expect(agent.ok && agent.input).toMatchObject({
      engine: "claude-code",
      profile: { name: "backend-engineer" },
      review: { mode: "human" },
    });
  });

  it("profiles/backend-engineer.yaml is a valid profile", async () => {
    const profile = ProfilePublishInput.safeParse(
      parseYaml(await readFile(join(EXAMPLES, "profiles", "backend-engineer.yaml"), "utf8")),
    );
    expect(profile.success ? [] : profile.error.issues).toEqual([]);
  });
});
