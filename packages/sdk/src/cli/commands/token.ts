import { Role } from "@gigafactory/schema";
import { type Command, Option } from "commander";
import type { CliContext } from "../context.js";
import { globalsOf } from "../options.js";

export function registerTokenCommands(program: Command, ctx: CliContext): void {
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
      if (ctx.out.tty)
        ctx.out.warn(ctx.out.c.dim(`${created.role} token for product ${created.productId}; it is not shown again`));
    });

  token
    .command("list")
    .description("list the product's tokens: id (the hash; the secret is never stored), role, name, created, revoked")
    .option("--product <product>", "another product (admins)")
    .option("--json", "print the tokens as a JSON array")
    .action(async (opts: { product?: string; json?: boolean }, command: Command) => {
      const client = await ctx.client(globalsOf(command));
      const tokens = await client.trpc.admin.tokens.query(opts.product ? { productId: opts.product } : {});
      if (opts.json) return ctx.out.json(tokens);
      ctx.out.table(tokens, [
        { header: "ID", value: (t) => t.tokenId.slice(0, 16) },
        { header: "ROLE", value: (t) => t.role },
        { header: "NAME", value: (t) => t.name ?? "-" },
        { header: "CREATED", value: (t) => t.createdAt.toISOString() },
        { header: "REVOKED", value: (t) => t.revokedAt?.toISOString() ?? "-" },
      ]);
    });

  token
    .command("revoke")
    .description("revoke a token by its id (from `gf token list --json`)")
    .argument("<tokenId>", "the token id (64 hex characters)")
    .option("--product <product>", "another product (admins)")
    .action(async (tokenId: string, opts: { product?: string }, command: Command) => {
      const client = await ctx.client(globalsOf(command));
      const revoked = await client.trpc.admin.revokeToken.mutate({
        tokenId,
        ...(opts.product ? { productId: opts.product } : {}),
      });
      ctx.out.line(
        `revoked ${revoked.role} token ${revoked.tokenId.slice(0, 16)}${revoked.name ? ` (${revoked.name})` : ""}`,
      );
    });
}
