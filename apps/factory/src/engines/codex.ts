import type { Engine, EngineContext, EngineRun } from "./engine.js";
import { startEngineRun } from "./engine-run.js";
import { createCodexParser } from "./codex.parse.js";
import { hasFlag, type Invocation, withPersona } from "./prompt.js";

/** Flags that already choose how commands are approved and sandboxed (and conflict with --full-auto). */
const SANDBOX_FLAGS = ["--full-auto", "--dangerously-bypass-approvals-and-sandbox", "--yolo", "--sandbox", "-s"];
/** Without the factory's sandbox: codex's own, and never an approval prompt. */
const UNSANDBOXED_PERMISSIONS = ["--sandbox", "workspace-write", "-c", 'approval_policy="never"'];

/**
 * `codex exec --json --skip-git-repo-check <permissions> [--model m] -`.
 * `exec` is the non-interactive mode and `--json` prints JSONL events. Permissions, so that no
 * command ever waits on an approval: inside the factory's sandbox, codex's own is off
 * (`--dangerously-bypass-approvals-and-sandbox`, documented for "environments that are
 * externally sandboxed"; codex's bubblewrap cannot nest in ours, and under it commands silently
 * never ran); unsandboxed (`--no-sandbox`), its `workspace-write` sandbox with approvals never
 * asked (`-c approval_policy="never"`). `--full-auto` is gone since codex 0.16x (the real CLI
 * refuses it). A sandbox flag in the profile's `engineArgs` replaces ours. Codex has no
 * system-prompt or max-turns flag: the persona is put ahead of the prompt, and
 * `maxTurns`/`allowedTools` do not apply. The prompt is passed as `-`, which makes codex read it
 * from stdin: never in argv, where any user on the host could read it in the process list.
 * See codex-rs/exec/src/cli.rs in https://github.com/openai/codex.
 */
export function codexInvocation(ctx: EngineContext): Invocation {
  const profile = ctx.profile ?? {};
  const prompt = withPersona(ctx.job.bodyMd, profile.persona);
  const args = ["exec", "--json", "--skip-git-repo-check"];
  if (!hasFlag(profile.engineArgs, SANDBOX_FLAGS)) {
    args.push(...(ctx.sandbox ? ["--dangerously-bypass-approvals-and-sandbox"] : UNSANDBOXED_PERMISSIONS));
  }
  if (profile.model) args.push("--model", profile.model);
  args.push(...(profile.engineArgs ?? []));
  return { args: [...args, "-"], input: prompt };
}

export const codexEngine: Engine = {
  id: "codex",
  describe: "OpenAI Codex CLI (`codex exec --json`); cost estimated from list prices",
  binaryName: "codex",
  run(ctx: EngineContext): EngineRun {
    const { args, input } = codexInvocation(ctx);
    const parser = createCodexParser({ model: ctx.profile?.model });
    return startEngineRun({
      ctx,
      file: ctx.binary ?? "codex",
      args,
      input,
      parser,
      sandboxExtras: { homePaths: [".codex"] },
    });
  },
};
