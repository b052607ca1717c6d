import { readFile } from "node:fs/promises";
import {
  JobFileSchedule,
  type OverlapPolicy,
  type ScheduleDefinitionInput,
  scheduleFromJobFile,
} from "@gigafactory/schema";
import type { Command } from "commander";
import type { GigafactoryClient } from "../../client.js";
import { formatJobFileError } from "../../jobfile/job-file-error.js";
import { parseJobFile } from "../../jobfile/parse-job-file.js";
import type { CliContext } from "../context.js";
import { CliError, EXIT } from "../errors.js";
import { globalsOf } from "../options.js";
import { formatTime, safeText } from "../output.js";

type ScheduleFlags = {
  cron?: string;
  timezone?: string;
  every?: string;
  phase?: string;
  overlap?: OverlapPolicy;
  jitter?: string;
  catchUpWindow?: string;
  limit?: string;
  pauseOnFailure?: boolean;
  json?: boolean;
};

/** `gf schedule …`: recurring jobs; each due time fires one job, on any number of coordinators. */
export function registerScheduleCommands(program: Command, ctx: CliContext): void {
  const schedule = program
    .command("schedule")
    .description("recurring jobs: create, list, show, pause, resume, trigger, backfill, delete, apply");
  const connect = async (command: Command): Promise<GigafactoryClient> => ctx.client(globalsOf(command));
  const print = (value: { id: string; paused: boolean; nextDueAt: Date | null }, json?: boolean) =>
    json ? ctx.out.json(value) : ctx.out.line(`${value.id}\t${value.paused ? "paused" : "active"}\t${due(value)}`);

  schedule
    .command("create")
    .description("create (or update, by id) a schedule whose jobs are made from a job file")
    .argument("<id>", "the schedule's id (re-applying the same id updates it)")
    .argument("<jobfile>", "job file (markdown with YAML frontmatter): the job each due time fires")
    .option("--cron <expr>", "cron expression, 5 fields or 6 with seconds first")
    .option("--timezone <zone>", "IANA time zone of the cron expression (default UTC)")
    .option("--every <duration>", "an interval instead of cron, e.g. 1h")
    .option("--phase <duration>", "shift of the interval from the epoch, e.g. 15m")
    .option("--overlap <policy>", "skip (default), bufferOne, allowAll or cancelOther")
    .option("--jitter <duration>", "delay each job by up to this much")
    .option("--catch-up-window <duration>", "due times missed by more are counted, not fired (default 1h)")
    .option("--limit <n>", "stop after this many fired jobs")
    .option("--pause-on-failure", "pause when a fired job failed")
    .option("--json", "print the schedule as JSON")
    .action(async (id: string, jobfile: string, opts: ScheduleFlags, command: Command) => {
      if ((opts.cron === undefined) === (opts.every === undefined))
        throw new CliError("give one of --cron or --every", EXIT.usage);
      const { input } = await readJobFile(jobfile);
      const { idempotencyKey: _key, notBefore: _nb, ...job } = input;
      const def: ScheduleDefinitionInput = {
        id,
        specs: [
          opts.cron !== undefined
            ? { cron: opts.cron, ...(opts.timezone ? { timezone: opts.timezone } : {}) }
            : { every: opts.every as string, ...(opts.phase ? { phase: opts.phase } : {}) },
        ],
        job,
        ...(opts.overlap ? { overlap: opts.overlap } : {}),
        ...(opts.jitter ? { jitter: opts.jitter } : {}),
        ...(opts.catchUpWindow ? { catchUpWindow: opts.catchUpWindow } : {}),
        ...(opts.limit ? { limit: Number(opts.limit) } : {}),
        ...(opts.pauseOnFailure ? { pauseOnFailure: true } : {}),
      };
      const { schedule: created } = await (await connect(command)).trpc.schedules.create.mutate(def);
      print(created, opts.json);
    });

  schedule
    .command("apply")
    .description("create or update the schedule a job file's `schedule:` key describes")
    .argument("<file>", "job file with a schedule: { id, cron | every, ... } key")
    .option("--json", "print the schedule as JSON")
    .action(async (file: string, opts: { json?: boolean }, command: Command) => {
      const { input, frontmatter } = await readJobFile(file);
      if (frontmatter.schedule === undefined) throw new CliError(`${file}: has no schedule: key`, EXIT.usage);
      const key = JobFileSchedule.safeParse(frontmatter.schedule);
      if (!key.success) {
        const lines = key.error.issues.map((issue) => `${file}: schedule.${issue.path.join(".")}: ${issue.message}`);
        throw new CliError(lines.join("\n"), EXIT.usage);
      }
      const client = await connect(command);
      const { schedule: applied, created } = await client.trpc.schedules.create.mutate(
        scheduleFromJobFile(key.data, input),
      );
      if (opts.json) return ctx.out.json({ created, schedule: applied });
      ctx.out.line(`${created ? "created" : "applied"}\t${applied.id}\t${due(applied)}`);
    });

  schedule
    .command("list")
    .description("list the product's schedules")
    .option("--json", "print the schedules as a JSON array")
    .action(async (opts: { json?: boolean }, command: Command) => {
      const list = await (await connect(command)).trpc.schedules.list.query({});
      if (opts.json) return ctx.out.json(list);
      ctx.out.table(
        list,
        [
          { header: "ID", value: (s) => s.id, color: (text) => ctx.out.c.bold(text) },
          { header: "STATE", value: (s) => (s.paused ? "paused" : "active") },
          { header: "NEXT", value: (s) => due(s) },
          { header: "FIRED", value: (s) => String(s.actions), align: "right" },
          { header: "MISSED", value: (s) => String(s.missed), align: "right" },
          { header: "SKIPPED", value: (s) => String(s.skipped), align: "right" },
        ],
        { empty: "no schedules yet: gf schedule apply FILE.md" },
      );
    });

  schedule
    .command("show")
    .description("show a schedule: next due times, counters, last actions and their jobs' stages")
    .argument("<id>")
    .option("--json", "print it as JSON")
    .action(async (id: string, opts: { json?: boolean }, command: Command) => {
      const shown = await (await connect(command)).trpc.schedules.get.query({ id });
      if (opts.json) return ctx.out.json(shown);
      ctx.out.line(ctx.out.c.bold(shown.id));
      ctx.out.fields([
        ["state", shown.paused ? `paused${shown.note ? `: ${safeText(shown.note)}` : ""}` : "active"],
        ["overlap", shown.definition.overlap],
        ["fired", String(shown.actions)],
        ["missed", String(shown.missed)],
        ["skipped", String(shown.skipped)],
        ["next", shown.nextDueTimes.map(formatTime).join(", ") || "-"],
      ]);
      for (const action of shown.recent)
        ctx.out.line(
          `  ${formatTime(action.dueAt)}  ${action.kind}  ${action.jobId ?? ""} ${action.stage ?? ""} ${safeText(action.error ?? "")}`.trimEnd(),
        );
    });

  schedule
    .command("pause")
    .argument("<id>")
    .option("--note <text>", "why (shown with the schedule)")
    .option("--json", "print the schedule as JSON")
    .action(async (id: string, opts: { note?: string; json?: boolean }, command: Command) => {
      const client = await connect(command);
      print(await client.trpc.schedules.pause.mutate({ id, ...(opts.note ? { note: opts.note } : {}) }), opts.json);
    });

  schedule
    .command("resume")
    .argument("<id>")
    .option("--json", "print the schedule as JSON")
    .action(async (id: string, opts: { json?: boolean }, command: Command) => {
      print(await (await connect(command)).trpc.schedules.resume.mutate({ id }), opts.json);
    });

  schedule
    .command("trigger")
    .description("fire one job now, whatever the overlap policy")
    .argument("<id>")
    .option("--json", "print { jobId } as JSON")
    .action(async (id: string, opts: { json?: boolean }, command: Command) => {
      const fired = await (await connect(command)).trpc.schedules.trigger.mutate({ id });
      if (opts.json) return ctx.out.json(fired);
      ctx.out.line(fired.jobId);
    });

  schedule
    .command("backfill")
    .description("fire every due time of a past range (each once, however often repeated)")
    .argument("<id>")
    .requiredOption("--from <time>", "start of the range (ISO time)")
    .requiredOption("--to <time>", "end of the range (ISO time)")
    .option("--json", "print { jobIds, created } as JSON")
    .action(async (id: string, opts: { from: string; to: string; json?: boolean }, command: Command) => {
      const client = await connect(command);
      const filled = await client.trpc.schedules.backfill.mutate({ id, from: opts.from, to: opts.to });
      if (opts.json) return ctx.out.json(filled);
      ctx.out.line(`${filled.created} created, ${filled.jobIds.length - filled.created} existing`);
    });

  schedule
    .command("delete")
    .description("delete a schedule (jobs it fired are kept)")
    .argument("<id>")
    .option("--json", "print { deleted } as JSON")
    .action(async (id: string, opts: { json?: boolean }, command: Command) => {
      const deleted = await (await connect(command)).trpc.schedules.delete.mutate({ id });
      if (opts.json) return ctx.out.json(deleted);
      ctx.out.line(`deleted ${id}`);
    });
}

function due(schedule: { nextDueAt: Date | null }): string {
  return schedule.nextDueAt ? formatTime(schedule.nextDueAt) : "-";
}

async function readJobFile(file: string) {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new CliError(`${file}: cannot read: ${(error as Error).message}`, EXIT.usage);
  }
  const parsed = parseJobFile(text, { file });
  if (!parsed.ok) throw new CliError(parsed.errors.map(formatJobFileError).join("\n"), EXIT.usage);
  return parsed;
}
