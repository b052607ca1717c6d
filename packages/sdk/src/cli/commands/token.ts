import { Role } from "@gigafactory/schema";
import { type Command, Option } from "commander";
import type { CliContext } from "../context.js";
import { globalsOf } from "../options.js";

export function registerToken(program: Command, ctx: CliContext): void {
  const token = program.command("token").description("bearer tokens (admin token)");
  token
    .command("create")
    .description("create a token; it is printed once and only its hash is stored")
    .addOption(new Option("--role <role>", "what the token may do").choices(Role.options).makeOptionMandatory())
    .option("--product <product>", "the product (tenant) it acts for; default: yours")
    .option("--name <name>", "a label, to tell tokens apart")
    .option("--json", "print { token, role, productId } as JSON")
    .addHelpText("after", "\nExample:\n  export GF_TOKEN=$(gf token create --role service --name ci)")
    .action(async (opts: { role: Role; product?: string; name?: string; json?: boolean }, command: Command) => {
      const client = await ctx.client(globalsOf(command));
      const created = await client.trpc.admin.createToken.mutate({
        role: opts.role,
        ...(opts.product ? { productId: opts.product } : {}),
        ...(opts.name ? { name: opts.name } : {}),
      });
      if (opts.json) return ctx.out.json(created);
      ctx.out.line(created.token);
      if (ctx.out.tty) ctx.out.warn(ctx.out.c.dim(`${created.role} token for product ${created.productId}; it is not shown again`));
    });
}
