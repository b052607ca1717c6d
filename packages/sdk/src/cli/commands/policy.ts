import { PolicyInput } from "@gigafactory/schema";
import type { Command } from "commander";
import type { CliContext } from "../context.js";
import { readDataFile } from "../data-file.js";
import { globalsOf } from "../options.js";

/** `gf policy set|show`: a product's guard rails and quality rails (admin token). */
export function registerPolicyCommands(program: Command, ctx: CliContext): void {
  const policy = program
    .command("policy")
    .description("a product's guard rails (engines, capabilities, repos, limits) and mandatory verify gates");

  policy
    .command("set")
    .description("replace the product's policy with a YAML or JSON file")
    .argument("<file>", "policy file (.yaml, .yml or .json)")
    .option("--product <id>", "another product (admins)")
    .option("--json", "print the stored policy as JSON")
    .action(async (file: string, opts: { product?: string; json?: boolean }, command: Command) => {
      const input = await readDataFile(file, PolicyInput, "the policy was not changed");
      const client = await ctx.client(globalsOf(command));
      const stored = await client.trpc.admin.setPolicy.mutate({
        policy: input,
        ...(opts.product ? { productId: opts.product } : {}),
      });
      if (opts.json) return ctx.out.json(stored);
      ctx.out.line(`policy of ${stored.productId} is now version ${stored.version}`);
    });

  policy
    .command("show")
    .description("show the product's policy")
    .option("--product <id>", "another product (admins)")
    .option("--json", "print the policy as JSON (null when none is set)")
    .action(async (opts: { product?: string; json?: boolean }, command: Command) => {
      const client = await ctx.client(globalsOf(command));
      const shown = await client.trpc.admin.policy.query(opts.product ? { productId: opts.product } : {});
      if (opts.json) return ctx.out.json(shown);
      if (!shown) return ctx.out.line("no policy: every job is allowed and no gate is added (gf policy set FILE.yaml)");
      const list = (values: readonly string[] | undefined) => (values ? values.join(", ") || "(none)" : "any");
      ctx.out.fields([
        ["product", shown.productId],
        ["version", String(shown.version)],
        ["engines", list(shown.engines)],
        ["capabilities", list(shown.capabilities)],
        ["repos", list(shown.repos)],
        ["max timeout", shown.maxTimeoutMs === undefined ? "any" : `${shown.maxTimeoutMs} ms`],
        ["max attempts", shown.maxAttempts === undefined ? "any" : String(shown.maxAttempts)],
        ["max cost", shown.maxCostUsd === undefined ? "any" : `${shown.maxCostUsd} USD`],
        ["gates", shown.gates.map((gate) => `${gate.name}: ${gate.verify.join(" && ")}`).join("; ") || "(none)"],
        ["auto echo", shown.autoEcho ? "on" : "off"],
      ]);
    });
}
