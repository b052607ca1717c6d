import type { Engine, EngineContext, EngineRun } from "./engine.js";
import { startEngineRun } from "./engine-run.js";
import { createCodexParser } from "./codex.parse.js";
import { hasFlag, type Invocation, withPersona } from "./prompt.js";

/** Flags that already choose how commands are approved and sandboxed (and conflict with --full-auto). */
const SANDBOX_FLAGS = ["--full-auto", "--dangerously-bypass-approvals-and-sandbox", "--yolo", "--sandbox", "-s"];

/**
 * `codex exec --json --full-auto --skip-git-repo-check [--model m] -`.
 * `exec` is the non-interactive mode and `--json` prints JSONL events; `--full-auto`
 * (sandbox `workspace-write`) lets it edit the workspace and run commands without asking.
 * A sandbox flag in the profile's `engineArgs` (e.g. `--dangerously-bypass-approvals-and-sandbox`
 * on an externally sandboxed host) replaces ours. Codex has no system-prompt or max-turns
 * flag: the persona is put ahead of the prompt, and `maxTurns`/`allowedTools` do not apply.
 * The prompt is passed as `-`, which makes codex read it from stdin: never in argv, where
 * any user on the host could read it in the process list.
 * See codex-rs/exec/src/cli.rs in https://github.com/openai/codex.
 */
export function codexInvocation(ctx: EngineContext): Invocation {
  const profile = ctx.profile ?? {};
  const prompt = withPersona(ctx.job.bodyMd, profile.persona);
  const args = ["exec", "--json", "--skip-git-repo-check"];
  if (!hasFlag(profile.engineArgs, SANDBOX_FLAGS)) args.push("--full-auto");
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
