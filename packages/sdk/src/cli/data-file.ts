import { readFile } from "node:fs/promises";
import { extname } from "node:path";
import { parse as parseYaml } from "yaml";
import type { z } from "zod";
import { CliError, EXIT } from "./errors.js";

/**
 * Reads a YAML (or, by its extension, JSON) file the CLI sends, checked against `schema`; every
 * problem names the file and the field, followed by `unchanged` (what the refusal left as it was).
 */
export async function readDataFile<S extends z.ZodType>(
  file: string,
  schema: S,
  unchanged: string,
): Promise<z.output<S>> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new CliError(`${file}: cannot read: ${(error as Error).message}`, EXIT.usage);
  }
  const json = extname(file).toLowerCase() === ".json";
  let value: unknown;
  try {
    value = json ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new CliError(`${file}: invalid ${json ? "JSON" : "YAML"}: ${(error as Error).message}`, EXIT.usage);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `${file}: ${issue.path.join(".") || "(file)"}: ${issue.message}`);
    throw new CliError(`${lines.join("\n")}\n${unchanged}`, EXIT.usage);
  }
  return parsed.data;
}
