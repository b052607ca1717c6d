import type { Engine, EngineContext, EngineRun } from "./engine.js";
import { failedRun, startEngineRun } from "./engine-run.js";
import { logEvent } from "./events.js";
import type { OutputParser } from "./output-parser.js";
import { type TempFile, writeTempFile } from "./prompt.js";

/** Every line of output is a `log` event; the only insight is the duration. */
export function createShellParser(): OutputParser {
  return {
    line: (stream, line) => [logEvent(stream, line)],
    finish: () => ({ insights: {} }),
  };
}

/**
 * Runs `job.command` with `bash -o pipefail -c`, or else the job body as a script with
 * `bash -euo pipefail <file>`. A one-line command keeps its own exit status semantics
 * (no `-eu`, which would reject a command that tests an unset variable); a script body
 * stops at the first failing line. The script lives in a temp dir outside the workspace
 * and is not fed through stdin, where commands in it could read the rest of the script.
 */
export const shellEngine: Engine = {
  id: "shell",
  describe: "Runs the job's command, or its body as a bash script",
  binaryName: "bash",
  run(ctx: EngineContext): EngineRun {
    const file = ctx.binary ?? "bash";
    const parser = createShellParser();
    const extra = ctx.profile?.engineArgs ?? [];
    if (ctx.job.command !== undefined && ctx.job.command.trim() !== "") {
      return startEngineRun({ ctx, file, args: [...extra, "-o", "pipefail", "-c", ctx.job.command], parser });
    }
    let script: TempFile;
    try {
      script = writeTempFile("job.sh", ctx.job.bodyMd);
    } catch (err) {
      return failedRun(`could not write the job script: ${err instanceof Error ? err.message : String(err)}`);
    }
    return startEngineRun({
      ctx,
      file,
      args: [...extra, "-euo", "pipefail", script.path],
      parser,
      cleanup: script.remove,
      sandboxExtras: { readOnly: [script.path] },
    });
  },
};
