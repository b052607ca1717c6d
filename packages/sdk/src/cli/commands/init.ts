import { constants } from "node:fs";
import { access, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Command } from "commander";
import type { CliContext } from "../context.js";
import { CliError, EXIT } from "../errors.js";
import { INIT_FILES } from "../init/templates.js";

export function registerInitCommands(program: Command, ctx: CliContext): void {
  program
    .command("init")
    .description("write a commented example job file (hello.md) and profile (profile.yaml) here")
    .action(async () => {
      const names = Object.keys(INIT_FILES) as (keyof typeof INIT_FILES)[];
      // all or nothing: refuse before writing anything when one of them is there
      const present: string[] = [];
      for (const name of names) if (await exists(join(ctx.cwd, name))) present.push(name);
      if (present.length > 0) {
        throw new CliError(
          `${present.join(" and ")} already here; nothing was written (gf init never overwrites)`,
          EXIT.usage,
        );
      }
      for (const name of names) await writeFile(join(ctx.cwd, name), INIT_FILES[name], { flag: "wx" });
      ctx.out.line(`wrote ${names.join(" and ")}. Next, with a fleet running (${ctx.self} up):`);
      ctx.out.line(`  ${ctx.self} submit hello.md --wait`);
      ctx.out.line(`  ${ctx.self} profiles publish profile.yaml`);
    });
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path, constants.F_OK);
    return true;
  } catch {
    return false;
  }
}
