import { existsSync } from "node:fs";
import { join } from "node:path";

/**
 * The commands `gf up` suggests, spelled so they work as printed in `dir` (where the fleet
 * file is): the repository's `examples/hello.md` when it is there, else the `hello.md` that
 * `gf init` writes (first `gf init` when there is none yet).
 */
export function nextSteps(self: string, dir: string): string[] {
  const steps: string[] = [];
  if (existsSync(join(dir, "examples", "hello.md"))) steps.push(`${self} submit examples/hello.md --wait`);
  else {
    if (!existsSync(join(dir, "hello.md")))
      steps.push(`${self} init                  # writes hello.md and profile.yaml`);
    steps.push(`${self} submit hello.md --wait`);
  }
  steps.push(`${self} jobs            ${self} factories       ${self} logs ID -f`);
  return steps;
}
