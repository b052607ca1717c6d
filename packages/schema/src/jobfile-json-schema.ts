import { z } from "zod";
import { JobFileFrontmatter } from "./jobfile.js";

/** Keys whose zod schema splits a comma-separated string before checking the array. */
const COMMA_LISTS = ["capabilities", "deps"] as const;

type JsonSchema = Record<string, unknown> & { properties?: Record<string, Record<string, unknown>> };

/**
 * The JSON Schema (draft 2020-12) of a job file's YAML frontmatter, generated from
 * {@link JobFileFrontmatter} (`z.toJSONSchema`, the input side: what a person writes), so editors
 * can check frontmatter. Where zod's preprocessing accepts more than the generated schema says
 * (comma-separated lists, dates), the schema is widened to match what the parser accepts.
 */
export function jobFileJsonSchema(): JsonSchema {
  const schema = z.toJSONSchema(JobFileFrontmatter, {
    io: "input",
    target: "draft-2020-12",
    unrepresentable: "any",
  }) as JsonSchema;
  const properties = schema.properties ?? {};
  for (const key of COMMA_LISTS) {
    const list = properties[key];
    if (list) properties[key] = { anyOf: [{ type: "string", description: "comma-separated" }, list] };
  }
  properties["not-before"] = {
    description: "do not start before this time",
    anyOf: [
      { type: "string", format: "date-time" },
      { type: "string", format: "date" },
    ],
  };
  if (properties.timeout) properties.timeout.description = "e.g. 90s, 30m, 4h, 1h30m, or milliseconds";
  return {
    $schema: schema.$schema,
    title: "Gigafactory job file frontmatter",
    description: "The YAML frontmatter of a Gigafactory job file (markdown). Unknown keys are kept in the manifest.",
    ...Object.fromEntries(Object.entries(schema).filter(([key]) => key !== "$schema")),
  };
}
