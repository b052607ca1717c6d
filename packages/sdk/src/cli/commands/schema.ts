import { jobFileJsonSchema } from "@gigafactory/schema";
import type { Command } from "commander";
import type { CliContext } from "../context.js";
import { CliError, EXIT } from "../errors.js";

/** The JSON Schemas `gf schema` prints, by name; generated from the zod schemas. */
const SCHEMAS: Record<string, () => unknown> = { "job-file": jobFileJsonSchema };

export function registerSchemaCommands(program: Command, ctx: CliContext): void {
  program
    .command("schema")
    .description("print a JSON Schema generated from the zod schemas (job-file: a job file's frontmatter)")
    .argument("<name>", `which one: ${Object.keys(SCHEMAS).join(", ")}`)
    .action((name: string) => {
      const schema = SCHEMAS[name];
      if (!schema) throw new CliError(`no schema "${name}"; there is: ${Object.keys(SCHEMAS).join(", ")}`, EXIT.usage);
      ctx.out.line(JSON.stringify(schema(), null, 2));
    });
}
