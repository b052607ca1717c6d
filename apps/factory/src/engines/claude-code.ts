import type { Engine, EngineContext, EngineRun } from "./engine.js";
import { startEngineRun } from "./engine-run.js";
import { createClaudeCodeParser } from "./claude-code.parse.js";
import { hasFlag, type Invocation } from "./prompt.js";

/**
 * `claude -p <prompt> --output-format stream-json --verbose` (print mode is non-interactive;
 * stream-json needs --verbose), with the profile's model, max turns, persona
 * (`--append-system-prompt`) and allowed tools.
 *
 * Permissions, since nobody is there to answer a prompt: with an allow-list, the listed tools
 * are pre-approved and `--permission-mode dontAsk` denies everything else instead of asking;
 * without one, `--permission-mode bypassPermissions` (the documented equivalent of
 * `--dangerously-skip-permissions`): the job runs in its own disposable worktree.
 * A permission flag in the profile's `engineArgs` replaces ours.
 * See https://code.claude.com/docs/en/cli-reference and https://code.claude.com/docs/en/permissions.
 *
 * The prompt is sent on stdin, which print mode reads as the prompt: never in argv, where
 * any user on the host could read it in the process list (and where it would be limited
 * in size and taken for a flag when it starts with `-`).
 */
export function claudeCodeInvocation(ctx: EngineContext): Invocation {
  const profile = ctx.profile ?? {};
  const prompt = ctx.job.bodyMd;
  const args = ["-p", "--output-format", "stream-json", "--verbose"];
  if (profile.model) args.push("--model", profile.model);
  if (profile.maxTurns !== undefined) args.push("--max-turns", String(profile.maxTurns));
  if (profile.persona?.trim()) args.push("--append-system-prompt", profile.persona);
  const allowed = profile.allowedTools ?? [];
  if (allowed.length > 0) args.push("--allowedTools", allowed.join(","));
  if (!hasFlag(profile.engineArgs, ["--permission-mode", "--dangerously-skip-permissions"])) {
    args.push("--permission-mode", allowed.length > 0 ? "dontAsk" : "bypassPermissions");
  }
  args.push(...(profile.engineArgs ?? []));
  return { args, input: prompt };
}

export const claudeCodeEngine: Engine = {
  id: "claude-code",
  describe: "Anthropic Claude Code CLI in print mode with stream-json output",
  binaryName: "claude",
  run(ctx: EngineContext): EngineRun {
    const { args, input } = claudeCodeInvocation(ctx);
    return startEngineRun({
      ctx,
      file: ctx.binary ?? "claude",
      args,
      input,
      parser: createClaudeCodeParser(),
      sandboxExtras: { homePaths: [".claude", ".claude.json", ".config/claude"] },
    });
  },
};
