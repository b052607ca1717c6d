import { readFileSync } from "node:fs";
import { Command } from "commander";
import { registerAppCommands } from "./commands/apps.js";
import { registerCompletionCommands } from "./commands/completion.js";
import { registerEngineCommands } from "./commands/engines.js";
import { registerDashboardCommands } from "./commands/dashboard.js";
import { registerFleetCommands } from "./commands/fleet.js";
import { registerInitCommands } from "./commands/init.js";
import { registerJobCommands } from "./commands/jobs.js";
import { registerLogCommands } from "./commands/logs.js";
import { registerPolicyCommands } from "./commands/policy.js";
import { registerProfileCommands } from "./commands/profiles.js";
import { registerSchemaCommands } from "./commands/schema.js";
import { registerScheduleCommands } from "./commands/schedules.js";
import { registerStatusCommands } from "./commands/status.js";
import { registerSubmitCommands } from "./commands/submit.js";
import { registerTokenCommands } from "./commands/token.js";
import { registerTrackerCommands } from "./commands/tracker.js";
import { registerUpCommands } from "./commands/up.js";
import type { CliContext } from "./context.js";
import { EXIT } from "./errors.js";

function version(): string {
  try {
    const manifest = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
      version?: string;
    };
    return manifest.version ?? "0.0.0";
  } catch {
    return "0.0.0";
  }
}

/** The `gf` command tree. Errors are thrown (exitOverride), not printed-and-exited, so main() picks the exit code. */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command("gf")
    .description("Gigafactory: run fleets of AI coding agents")
    .version(version(), "-V, --version")
    .option(
      "--url <url>",
      "coordinator URL, with --token (else GF_URL+GF_TOKEN, else the nearest .gigafactory/fleet.json)",
    )
    .option("--token <token>", "bearer token, with --url (URL and token always come from one place)")
    .showHelpAfterError("(gf --help, or gf COMMAND --help)")
    .exitOverride()
    .configureOutput({
      writeOut: (text) => process.stdout.write(text),
      writeErr: (text) => process.stderr.write(text),
      outputError: (text, write) => write(ctx.out.c.red(text)),
    })
    .addHelpText(
      "after",
      `
Exit codes:
  ${EXIT.ok}  ok
  ${EXIT.failed}  a job did not ship (--wait), or the coordinator refused the operation in the job's state
  ${EXIT.usage}  bad arguments or a bad job/profile file (nothing was changed)
  ${EXIT.notFound}  no such job, factory or profile (or the app package is not installed)
  ${EXIT.unreachable}  cannot reach the coordinator, or the token is missing, unknown or lacks the role

Start here:
  ${ctx.self} up                      # a local fleet, in the foreground
  ${ctx.self} init                    # in another terminal, same folder: hello.md, profile.yaml
  ${ctx.self} submit hello.md --wait  # ships it`,
    );

  registerUpCommands(program, ctx);
  registerSubmitCommands(program, ctx);
  registerJobCommands(program, ctx);
  registerLogCommands(program, ctx);
  registerFleetCommands(program, ctx);
  registerStatusCommands(program, ctx);
  registerProfileCommands(program, ctx);
  registerScheduleCommands(program, ctx);
  registerTokenCommands(program, ctx);
  registerAppCommands(program, ctx);
  registerInitCommands(program, ctx);
  registerSchemaCommands(program, ctx);
  registerCompletionCommands(program, ctx);
  registerEngineCommands(program, ctx);
  registerDashboardCommands(program, ctx);
  registerTrackerCommands(program, ctx);
  registerPolicyCommands(program, ctx);
  return program;
}
