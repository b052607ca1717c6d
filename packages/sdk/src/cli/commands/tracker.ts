import { TrackerRef } from "@gigafactory/schema";
import type { Command } from "commander";
import type { CliContext } from "../context.js";
import { CliError, EXIT } from "../errors.js";
import { globalsOf } from "../options.js";
import { safeText } from "../output.js";

/** `gf tracker import|echo`: work in from a tracker, outcomes back. */
export function registerTrackerCommands(program: Command, ctx: CliContext): void {
  const tracker = program
    .command("tracker")
    .description("import tracker items as jobs and echo job outcomes back (GitHub Issues, the Items API)");

  tracker
    .command("import")
    .description("import an item as a job; importing it again returns the same job")
    .argument("<ref>", "github:owner/repo#123 or items:T-1")
    .option("--json", "print { job, created } as JSON")
    .action(async (ref: string, opts: { json?: boolean }, command: Command) => {
      if (!TrackerRef.safeParse(ref).success)
        throw new CliError(`${ref}: use github:owner/repo#123 or items:<id>`, EXIT.usage);
      const client = await ctx.client(globalsOf(command));
      const result = await client.trpc.tracker.importItem.mutate({ ref });
      if (opts.json) return ctx.out.json(result);
      ctx.out.line(`${result.created ? "created" : "exists"} ${result.job._id}  ${safeText(result.job.title)}`);
    });

  tracker
    .command("echo")
    .description("echo a job's state to its tracker item now (nothing when unchanged since the last echo)")
    .argument("<job>", "job id")
    .option("--json", "print the echo's outcome as JSON")
    .action(async (jobId: string, opts: { json?: boolean }, command: Command) => {
      const client = await ctx.client(globalsOf(command));
      const result = await client.trpc.tracker.echo.mutate({ jobId });
      if (opts.json) return ctx.out.json(result);
      ctx.out.line(
        result.sent ? `echoed ${result.state} to ${result.ref}` : `nothing sent to ${result.ref}: ${result.reason}`,
      );
    });
}
