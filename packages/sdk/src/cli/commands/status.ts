import type { Command } from "commander";
import type { CliContext } from "../context.js";
import { globalsOf } from "../options.js";
import { formatMs } from "../output.js";

/** `gf status`: one screen of fleet health from `admin.status` (admin token). */
export function registerStatusCommands(program: Command, ctx: CliContext): void {
  program
    .command("status")
    .description("coordinator, MongoDB, queue depth and oldest age, factories and seats, failures (admin token)")
    .option("--json", "print the status as JSON")
    .action(async (opts: { json?: boolean }, command: Command) => {
      const client = await ctx.client(globalsOf(command));
      const status = await client.trpc.admin.status.query({});
      if (opts.json) return ctx.out.json(status);
      const { c } = ctx.out;
      const counts = (record: Record<string, number>) =>
        Object.entries(record)
          .map(([key, n]) => `${key} ${n}`)
          .join(", ");
      const active = status.factoriesByState.active;
      ctx.out.fields([
        ["coordinator", `${c.green("ok")} ${client.url} (up ${formatMs(status.coordinator.uptimeSeconds * 1000)})`],
        ["mongodb", `${c.green("ok")}${status.mongoBackend ? ` ${status.mongoBackend}` : ""}`],
        ["queue", `${status.queue.depth} waiting, oldest ${formatMs(status.queue.oldestAgeSeconds * 1000)}`],
        ["jobs", counts(status.jobsByStage)],
        ["factories", active ? counts(status.factoriesByState) : c.yellow(counts(status.factoriesByState))],
        ["seats", `${status.seats.used} used, ${status.seats.free} free`],
        ["failed (1h)", status.failedLastHour ? c.red(String(status.failedLastHour)) : String(status.failedLastHour)],
      ]);
    });
}
