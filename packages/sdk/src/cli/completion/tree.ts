import type { Command, Option } from "commander";

/** One option as completion scripts need it. */
export interface CompletionOption {
  long: string | undefined;
  short: string | undefined;
  /** It takes a value (`--port <n>`): the next word is not a command. */
  takesValue: boolean;
  description: string;
}

/** A command and everything under it, read from commander's tree (so completion never drifts). */
export interface CompletionNode {
  /** Names from the root, e.g. `["profiles", "publish"]`; `[]` for `gf` itself. */
  path: string[];
  description: string;
  options: CompletionOption[];
  children: CompletionNode[];
}

export function completionTree(command: Command, path: string[] = []): CompletionNode {
  return {
    path,
    description: command.description(),
    options: [
      ...command.options,
      command
        .createHelp()
        .visibleOptions(command)
        .find((o) => o.long === "--help"),
    ]
      .filter((option): option is Option => option !== undefined && !option.hidden)
      .filter((option, index, all) => all.findIndex((other) => other.flags === option.flags) === index)
      .map((option) => ({
        long: option.long,
        short: option.short,
        takesValue: option.required || option.optional,
        description: option.description,
      })),
    children: command.commands
      .filter((child) => child.name() !== "help")
      .map((child) => completionTree(child, [...path, child.name()])),
  };
}

/** Every node, the root first. */
export function allNodes(node: CompletionNode): CompletionNode[] {
  return [node, ...node.children.flatMap(allNodes)];
}

/** The words an option can be typed as. */
export function optionWords(options: CompletionOption[]): string[] {
  return options.flatMap((option) => [option.long, option.short].filter((word): word is string => !!word));
}
