import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { JobFileFrontmatter } from "./jobfile.js";
import { jobFileJsonSchema } from "./jobfile-json-schema.js";

const COMMITTED = fileURLToPath(new URL("../job-file.schema.json", import.meta.url));
const EXAMPLES = fileURLToPath(new URL("../../../examples/", import.meta.url));

function validator() {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats.default(ajv);
  return ajv.compile(jobFileJsonSchema());
}

describe("the job file JSON Schema", () => {
  it("is what the committed job-file.schema.json holds (regenerate: pnpm -s gf schema job-file > packages/schema/job-file.schema.json)", () => {
    expect(JSON.parse(readFileSync(COMMITTED, "utf8"))).toEqual(jobFileJsonSchema());
  });

  it("accepts the frontmatter of every example job file, as the zod schema does", () => {
    const validate = validator();
    const files = readdirSync(EXAMPLES).filter((name) => name.endsWith(".md") && name !== "README.md");
    expect(files.length).toBeGreaterThan(3);
    for (const name of files) {
      const text = readFileSync(`${EXAMPLES}${name}`, "utf8");
      const frontmatter = parse(/^---\n([\s\S]*?)\n---/.exec(text)?.[1] ?? "") as unknown;
      expect({ name, zod: JobFileFrontmatter.safeParse(frontmatter).success }).toEqual({ name, zod: true });
      expect({ name, valid: validate(frontmatter), errors: validate.errors ?? null }).toEqual({
        name,
        valid: true,
        errors: null,
      });
    }
  });

  it("agrees with the zod schema on what to accept and refuse", () => {
    const validate = validator();
    const cases: [unknown, boolean][] = [
      [{ engine: "shell", priority: "high", capabilities: "os:linux, gpu", timeout: "1h30m" }, true],
      [{ capabilities: ["os:linux"], deps: "build-1,build-2", "deps-mode": "any", verify: "npm test" }, true],
      [{ "not-before": "2026-12-01T10:00:00Z", review: { mode: "engine", engine: "codex" }, custom: 1 }, true],
      [{ priority: "urgentest" }, false],
      [{ "max-attempts": 0 }, false],
      [{ engine: "Not An Engine" }, false],
      [{ capabilities: 5 }, false],
      [{ review: { mode: "human", extra: true } }, false],
      [{ network: "no" }, false],
    ];
    for (const [frontmatter, accepted] of cases) {
      expect({ frontmatter, zod: JobFileFrontmatter.safeParse(frontmatter).success }).toEqual({
        frontmatter,
        zod: accepted,
      });
      expect({ frontmatter, jsonSchema: validate(frontmatter) }).toEqual({ frontmatter, jsonSchema: accepted });
    }
  });
});
