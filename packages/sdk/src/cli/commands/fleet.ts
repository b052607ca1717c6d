import { type Factory, parseDuration } from "@gigafactory/schema";
import { type Command, InvalidArgumentError } from "commander";
import type { CliContext } from "../context.js";
import { globalsOf } from "../options.js";
import { formatAge, formatCount, formatMs, formatUsd } from "../output.js";

export function registerFleetCommands(program: Command, ctx: CliContext): void {
  program
    .command("factories")
    .description("list factories: id, pid, host, state, load, last heartbeat (admin token)")
    .option("--json", "print the factories as a JSON array")
    .action(async (opts: { json?: boolean }, command: Command) => {
      const client = await ctx.client(globalsOf(command));
      const factories = await client.trpc.admin.factories.query({});
      if (opts.json) return ctx.out.json(factories);
      const { c } = ctx.out;
      const now = new Date();
      ctx.out.table(
        factories,
        [
          { header: "ID", value: (f) => f.factoryId, color: (text) => c.bold(text) },
          { header: "PID", value: (f) => String(f.descriptor.pid), align: "right" },
          { header: "HOST", value: (f) => f.descriptor.host },
          { header: "STATE", value: (f) => f.state, color: (text, f) => paintState(ctx, f, text) },
          { header: "LOAD", value: (f) => `${f.load.running}/${f.seatLimit}`, align: "right" },
          { header: "HEARTBEAT", value: (f) => formatAge(f.lastHeartbeatAt, now) },
          { header: "ENGINES", value: (f) => f.engines.join(",") },
          { header: "CAPABILITIES", value: (f) => f.capabilities.join(",") || "-" },
        ],
        { empty: "no factories registered: gf up starts some, gf factory runs one" },
      );
    });

  program
    .command("drain")
    .description("ask a factory to stop claiming and hand back its jobs (admin token)")
    .argument("<factory>", "factory id")
    .option("--json", "print the factory as JSON")
    .action(async (factoryId: string, opts: { json?: boolean }, command: Command) => {
      const client = await ctx.client(globalsOf(command));
      const factory = await client.trpc.admin.drain.mutate({ factoryId });
      if (opts.json) return ctx.out.json(factory);
      ctx.out.line(`${factory.factoryId}\t${factory.state}`);
    });

  program
    .command("insights")
    .description("jobs by stage, run results, success rate, durations, tokens and cost (admin token)")
    .option("--since <when>", "only runs since a date (2025-01-31) or a duration ago (24h)", sinceOption)
    .option("--json", "print the figures as JSON")
    .action(async (opts: { since?: Date; json?: boolean }, command: Command) => {
      const client = await ctx.client(globalsOf(command));
      const insights = await client.trpc.admin.insights.query(opts.since ? { since: opts.since } : {});
      if (opts.json) return ctx.out.json(insights);
      const { out } = ctx;
      const pairs = (record: Record<string, number | undefined>) =>
        Object.entries(record)
          .filter(([, n]) => n)
          .map(([key, n]) => `${key} ${n}`)
          .join(", ") || "-";
      out.fields([
        ["jobs", pairs(insights.jobsByStage)],
        ["runs", pairs(insights.runsByResult)],
        ["success rate", insights.successRate === null ? "-" : `${(insights.successRate * 100).toFixed(1)}%`],
        ["duration", `p50 ${formatMs(insights.durationMs.p50)}, p95 ${formatMs(insights.durationMs.p95)}`],
      ]);
      const totals = [
        { header: "RUNS", value: (row: { runs: number }) => String(row.runs), align: "right" as const },
        {
          header: "TOKENS IN",
          value: (row: { tokensIn: number }) => formatCount(row.tokensIn),
          align: "right" as const,
        },
        {
          header: "TOKENS OUT",
          value: (row: { tokensOut: number }) => formatCount(row.tokensOut),
          align: "right" as const,
        },
        {
          header: "CACHED",
          value: (row: { tokensCached: number }) => formatCount(row.tokensCached),
          align: "right" as const,
        },
        { header: "COST", value: (row: { costUsd: number }) => formatUsd(row.costUsd), align: "right" as const },
      ];
      if (insights.byEngine.length) {
        if (out.tty) out.line("");
        out.table(insights.byEngine, [{ header: "ENGINE", value: (row) => row.engine }, ...totals]);
      }
      if (insights.byProfile.length) {
        if (out.tty) out.line("");
        out.table(insights.byProfile, [{ header: "PROFILE", value: (row) => row.profile }, ...totals]);
      }
    });
}

function paintState(ctx: CliContext, factory: Factory, text: string): string {
  const { c } = ctx.out;
  return factory.state === "active" ? c.green(text) : factory.state === "draining" ? c.yellow(text) : c.dim(text);
}

function sinceOption(value: string): Date {
  const ago = parseDuration(value);
  if (ago !== undefined && !/^\d+$/.test(value.trim())) return new Date(Date.now() - ago);
  const date = new Date(value);
  if (Number.isNaN(date.getTime()))
    throw new InvalidArgumentError("must be a date (2025-01-31) or a duration ago (24h, 7d)");
  return date;
}
