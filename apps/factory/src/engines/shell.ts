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
 * Runs `job.command` with `bash -o pipefail <file>`, or else the job body as a script with
 * `bash -euo pipefail <file>`. A one-line command keeps its own exit status semantics
 * (no `-eu`, which would reject a command that tests an unset variable); a script body
 * stops at the first failing line. Either lives in a 0600 file in a temp dir outside the
 * workspace: not in argv (`-c`), which any user on the host can read in the process list,
 * and not fed through stdin, where commands in it could read the rest of the script.
 */
export const shellEngine: Engine = {
  id: "shell",
  describe: "Runs the job's command, or its body as a bash script",
  binaryName: "bash",
  wantsGit: false,
  run(ctx: EngineContext): EngineRun {
    const file = ctx.binary ?? "bash";
    const parser = createShellParser();
    const extra = ctx.profile?.engineArgs ?? [];
    const command = ctx.job.command !== undefined && ctx.job.command.trim() !== "" ? ctx.job.command : undefined;
    let script: TempFile;
    try {
      script = writeTempFile("job.sh", command ?? ctx.job.bodyMd);
    } catch (err) {
      return failedRun(`could not write the job script: ${err instanceof Error ? err.message : String(err)}`);
    }
    return startEngineRun({
      ctx,
      file,
      args: [...extra, command === undefined ? "-euo" : "-o", "pipefail", script.path],
      parser,
      cleanup: script.remove,
      sandboxExtras: { readOnly: [script.path] },
    });
  },
};
