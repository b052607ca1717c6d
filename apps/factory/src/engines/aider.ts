import type { Engine, EngineContext, EngineRun } from "./engine.js";
import { failedRun, startEngineRun } from "./engine-run.js";
import { createAiderParser } from "./aider.parse.js";
import { type TempFile, withPersona, writeTempFile } from "./prompt.js";

/**
 * Flags for an unattended run: `--yes-always` answers every question, so the ones that
 * would change more than the task are switched off explicitly: no update check (it offers
 * to pip-install), no analytics opt-in, no .gitignore edit, no auto-commits (the factory
 * commits its own checkpoint). `--no-pretty --no-stream` keep the output plain lines.
 */
const UNATTENDED = [
  "--yes-always",
  "--no-pretty",
  "--no-stream",
  "--no-auto-commits",
  "--no-check-update",
  "--no-show-release-notes",
  "--no-analytics",
  "--no-gitignore",
];

/**
 * `aider --message-file <file> …` (a 0600 file in a private temp dir: a prompt in argv
 * would be readable by any user on the host in the process list), with `--model` from the
 * profile and the persona ahead of the prompt (aider has no system-prompt flag). `maxTurns` and `allowedTools` do not apply.
 * See https://aider.chat/docs/config/options.html.
 */
export function aiderArgs(ctx: EngineContext, messageFile: string): string[] {
  const profile = ctx.profile ?? {};
  return [
    "--message-file",
    messageFile,
    ...UNATTENDED,
    ...(profile.model ? ["--model", profile.model] : []),
    ...(profile.engineArgs ?? []),
  ];
}

export const aiderEngine: Engine = {
  id: "aider",
  describe: "Aider with a single --message-file; insights from its Tokens/Cost lines",
  binaryName: "aider",
  run(ctx: EngineContext): EngineRun {
    const file = ctx.binary ?? "aider";
    const parser = createAiderParser();
    const prompt = withPersona(ctx.job.bodyMd, ctx.profile?.persona);
    const homePaths = [".aider.conf.yml", ".aider.model.settings.yml", ".aider.model.metadata.json"];
    let message: TempFile;
    try {
      message = writeTempFile("message.md", prompt);
    } catch (err) {
      return failedRun(`could not write the aider message file: ${err instanceof Error ? err.message : String(err)}`);
    }
    return startEngineRun({
      ctx,
      file,
      args: aiderArgs(ctx, message.path),
      parser,
      cleanup: message.remove,
      sandboxExtras: { homePaths, readOnly: [message.path] },
    });
  },
};
