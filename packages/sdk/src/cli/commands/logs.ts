import { eventText, type JobEvent } from "@gigafactory/schema";
import type { Command } from "commander";
import { streamEvents } from "../../helpers/stream-events.js";
import type { CliContext } from "../context.js";
import { describeEvent } from "../describe.js";
import { globalsOf } from "../options.js";
import { formatTime, safeText } from "../output.js";

const PAGE = 1_000;

export function registerLogCommands(program: Command, ctx: CliContext): void {
  program
    .command("logs")
    .description("print a job's output (log events' text) and its other events as one-liners")
    .argument("<id>", "job id")
    .option("-f, --follow", "keep printing events as they come until the job ends")
    .option("--json", "print each event as one JSON line (NDJSON)")
    .action(async (jobId: string, opts: { follow?: boolean; json?: boolean }, command: Command) => {
      const client = await ctx.client(globalsOf(command));
      const print = (event: JobEvent) => (opts.json ? ctx.out.jsonLine(event) : printEvent(ctx, event));
      // one plain query first: a wrong id or an unreachable coordinator fails at once
      const first = await client.trpc.jobs.events.query({ jobId, afterSeq: 0, limit: PAGE });
      let last = 0;
      for (let page = first; ; ) {
        for (const event of page.items) print(event);
        last = page.nextSeq;
        if (page.items.length < PAGE) break;
        page = await client.trpc.jobs.events.query({ jobId, afterSeq: last, limit: PAGE });
      }
      if (!opts.follow) return;
      const interrupt = ctx.interruptSignal();
      try {
        for await (const event of streamEvents(client, jobId, { afterSeq: last, signal: interrupt.signal }))
          print(event);
      } finally {
        interrupt.dispose();
      }
      if (interrupt.signal.aborted) ctx.exitCode = 130;
    });
}

function printEvent(ctx: CliContext, event: JobEvent): void {
  const { out } = ctx;
  const { c } = out;
  if (event.type === "log") {
    // a job's output may carry terminal escapes: shown, not obeyed
    const text = safeText(eventText(event));
    out.line(event.data.stream === "stderr" ? c.yellow(text) : text);
    return;
  }
  const time = formatTime(event.at);
  const text = safeText(describeEvent(event));
  if (!out.tty) {
    out.line(`-- ${time} ${text}`);
    return;
  }
  const painted =
    event.type === "failed" || event.type === "dep_failed" || event.type === "lost"
      ? c.red(text)
      : event.type === "completed" || event.type === "approved"
        ? c.green(text)
        : event.type === "message" || event.type === "tool_use"
          ? text
          : c.cyan(text);
  out.line(`${c.dim(`── ${time}`)} ${painted}`);
}
