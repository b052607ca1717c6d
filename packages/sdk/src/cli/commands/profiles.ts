import { ProfilePublishInput } from "@gigafactory/schema";
import type { Command } from "commander";
import type { CliContext } from "../context.js";
import { readDataFile } from "../data-file.js";
import { CliError, EXIT } from "../errors.js";
import { globalsOf } from "../options.js";
import { formatAge } from "../output.js";

export function registerProfileCommands(program: Command, ctx: CliContext): void {
  const profiles = program
    .command("profiles")
    .description("publish and list profiles (persona and engine defaults; each publish is a new version)");

  profiles
    .command("publish")
    .description("publish a profile from a YAML or JSON file: { name, snapshot: { persona, engine, model, ... } }")
    .argument("<file>", "profile file (.yaml, .yml or .json)")
    .option("--json", "print the published profile as JSON")
    .action(async (file: string, opts: { json?: boolean }, command: Command) => {
      const input = await readDataFile(file, ProfilePublishInput, "nothing was published");
      const client = await ctx.client(globalsOf(command));
      const profile = await client.trpc.profiles.publish.mutate(input);
      if (opts.json) return ctx.out.json(profile);
      ctx.out.line(`published ${profile.name}@${profile.version}`);
    });

  profiles
    .command("list")
    .description("list profiles, every version, newest first per name")
    .option("--name <name>", "only this profile's versions")
    .option("--json", "print the profiles as a JSON array")
    .action(async (opts: { name?: string; json?: boolean }, command: Command) => {
      const client = await ctx.client(globalsOf(command));
      const list = await client.trpc.profiles.list.query(opts.name ? { name: opts.name } : {});
      if (opts.json) return ctx.out.json(list);
      const now = new Date();
      ctx.out.table(
        list,
        [
          { header: "NAME", value: (p) => p.name, color: (text) => ctx.out.c.bold(text) },
          { header: "VERSION", value: (p) => String(p.version), align: "right" },
          { header: "ENGINE", value: (p) => p.snapshot.engine ?? "-" },
          { header: "MODEL", value: (p) => p.snapshot.model ?? "-" },
          { header: "CREATED", value: (p) => formatAge(p.createdAt, now) },
          { header: "PERSONA", value: (p) => p.snapshot.persona ?? "" },
        ],
        { empty: "no profiles yet: gf profiles publish FILE.yaml" },
      );
    });

  profiles
    .command("show")
    .description("show one profile (the newest version unless NAME@VERSION)")
    .argument("<name>", "name or name@version")
    .option("--json", "print the profile as JSON")
    .action(async (spec: string, opts: { json?: boolean }, command: Command) => {
      const at = spec.lastIndexOf("@");
      const version = at > 0 ? Number(spec.slice(at + 1)) : undefined;
      if (version !== undefined && !Number.isInteger(version))
        throw new CliError(`${spec}: the version after @ must be a number`, EXIT.usage);
      const name = version === undefined ? spec : spec.slice(0, at);
      const client = await ctx.client(globalsOf(command));
      const profile = await client.trpc.profiles.get.query({ name, ...(version ? { version } : {}) });
      if (opts.json) return ctx.out.json(profile);
      ctx.out.line(`${profile.name}@${profile.version}`);
      ctx.out.fields([
        ["engine", profile.snapshot.engine],
        ["model", profile.snapshot.model],
        ["max turns", profile.snapshot.maxTurns?.toString()],
        ["engine args", profile.snapshot.engineArgs?.join(" ")],
        ["tools", profile.snapshot.allowedTools?.join(", ")],
        ["env", profile.snapshot.env ? Object.keys(profile.snapshot.env).join(", ") : undefined],
        ["created", profile.createdAt.toISOString()],
      ]);
      if (profile.snapshot.persona) ctx.out.line(`\n${profile.snapshot.persona.trimEnd()}`);
    });
}
