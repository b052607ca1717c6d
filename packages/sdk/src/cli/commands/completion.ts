import type { Command } from "commander";
import { bashCompletion } from "../completion/bash.js";
import { fishCompletion } from "../completion/fish.js";
import { completionTree } from "../completion/tree.js";
import { zshCompletion } from "../completion/zsh.js";
import type { CliContext } from "../context.js";
import { CliError, EXIT } from "../errors.js";

const SHELLS = { bash: bashCompletion, zsh: zshCompletion, fish: fishCompletion } as const;

export function registerCompletionCommands(program: Command, ctx: CliContext): void {
  program
    .command("completion")
    .description("print a shell completion script (bash, zsh or fish), generated from gf's commands")
    .argument("<shell>", Object.keys(SHELLS).join(" | "))
    .addHelpText(
      "after",
      `
  source <(gf completion bash)                               # bash, e.g. in ~/.bashrc
  source <(gf completion zsh)                                # zsh, e.g. in ~/.zshrc
  gf completion fish > ~/.config/fish/completions/gf.fish    # fish`,
    )
    .action((shell: string) => {
      const generate = SHELLS[shell as keyof typeof SHELLS];
      if (!generate) throw new CliError(`no completion for "${shell}"; there is: bash, zsh, fish`, EXIT.usage);
      ctx.out.line(generate(completionTree(program)).trimEnd());
    });
}
