#!/usr/bin/env node
import { CommanderError } from "commander";
import { CliContext } from "./context.js";
import { EXIT, explainError } from "./errors.js";
import { detectInvocation } from "./invocation.js";
import { buildProgram } from "./program.js";

const invocation = detectInvocation(process.env, process.cwd());
// `pnpm gf` runs from the repository root: act in the folder the user typed it in
if (invocation.cwd !== process.cwd()) process.chdir(invocation.cwd);
const ctx = new CliContext({
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: invocation.cwd,
  self: invocation.self,
});

async function main(argv: string[]): Promise<number> {
  const program = buildProgram(ctx);
  try {
    await program.parseAsync(argv);
    return ctx.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // commander printed the message (or the help) already
      if (error.code === "commander.helpDisplayed" || error.code === "commander.version") return EXIT.ok;
      return EXIT.usage;
    }
    const { exitCode, message } = explainError(error, ctx.where());
    ctx.out.clearStatus();
    ctx.out.warn(`${ctx.out.c.red("gf:")} ${message}`);
    return exitCode;
  } finally {
    await ctx.close().catch(() => {});
  }
}

const code = await main(process.argv);
// a stray handle (a WebSocket closing slowly) must not keep a finished command alive
process.exitCode = code;
setTimeout(() => process.exit(code), 1_000).unref();
