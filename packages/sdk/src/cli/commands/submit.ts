import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import { eventText, type Job, type JobCreate, type Stage, isTerminalStage } from "@gigafactory/schema";
import type { Command } from "commander";
import type { GigafactoryClient } from "../../client.js";
import { formatJobFileError } from "../../jobfile/job-file-error.js";
import { parseJobFile } from "../../jobfile/parse-job-file.js";
import { waitForJob } from "../../helpers/wait-for-job.js";
import type { CliContext } from "../context.js";
import { describeEvent, isOutputEvent, paintStage, stageAfter } from "../describe.js";
import { CliError, EXIT, explainError } from "../errors.js";
import { globalsOf } from "../options.js";
import { formatMs, safeText } from "../output.js";

interface Submitted {
  file: string;
  job: Job;
  created: boolean;
}

export function registerSubmitCommands(program: Command, ctx: CliContext): void {
  program
    .command("submit")
    .description("submit job files (markdown with YAML frontmatter), in the order given")
    .argument("<files...>", "job files; - reads one from stdin")
    .option("-w, --wait", "follow each job until it ends; exit 1 if any did not ship")
    .option("--json", "print [{ file, created, job }] as JSON (the final jobs with --wait)")
    .addHelpText(
      "after",
      `
Every file is checked before anything is sent: one bad file (exit 2, with file:line: field)
and no job is created. A file whose idempotency-key already exists gives back that job.

Examples:
  gf submit examples/hello.md --wait
  gf submit examples/pipeline-build.md examples/pipeline-deploy.md
  cat job.md | gf submit -`,
    )
    .action(async (files: string[], opts: { wait?: boolean; json?: boolean }, command: Command) => {
      const inputs = await parseAll(files);
      const client = await ctx.client(globalsOf(command));
      const submitted: Submitted[] = [];
      for (const { file, input } of inputs) {
        try {
          const { job, created } = await client.trpc.jobs.create.mutate(input);
          submitted.push({ file, job, created });
          if (!opts.json) printSubmitted(ctx, { file, job, created });
        } catch (error) {
          const { exitCode, message } = explainError(error, ctx.where());
          const done = submitted.length ? ` (already submitted: ${submitted.map((s) => s.job._id).join(", ")})` : "";
          throw new CliError(`${file}: ${message}${done}`, exitCode);
        }
      }
      if (!opts.wait) {
        if (opts.json) ctx.out.json(submitted);
        return;
      }
      const finals = await followAll(ctx, client, submitted, { quiet: opts.json === true });
      if (opts.json) ctx.out.json(submitted.map((s, i) => ({ ...s, job: finals[i] ?? s.job })));
      if (finals.some((job) => job.stage !== "shipped")) ctx.exitCode = EXIT.failed;
    });
}

/** Reads and parses every file; throws one usage error listing every problem, so nothing is created. */
async function parseAll(files: string[]): Promise<Array<{ file: string; input: JobCreate }>> {
  const problems: string[] = [];
  const inputs: Array<{ file: string; input: JobCreate }> = [];
  for (const file of files) {
    let text: string;
    try {
      text = file === "-" ? await readStdin() : await readFile(file, "utf8");
    } catch (error) {
      problems.push(
        `${file}: cannot read: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (error as Error).message}`,
      );
      continue;
    }
    const name = file === "-" ? "stdin" : file;
    const parsed = parseJobFile(text, { file: name });
    if (parsed.ok) inputs.push({ file: name, input: parsed.input });
    else problems.push(...parsed.errors.map(formatJobFileError));
  }
  if (problems.length) throw new CliError(`${problems.join("\n")}\nnothing was submitted`, EXIT.usage);
  return inputs;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString("utf8");
}

function printSubmitted(ctx: CliContext, { file, job, created }: Submitted): void {
  const { out } = ctx;
  if (!out.tty) {
    out.line([job._id, created ? "created" : "existing", file].join("\t"));
    return;
  }
  const label = created ? out.c.green("created ") : out.c.yellow("existing");
  const note = created ? job.title : `same idempotency key ${job.idempotencyKey}; ${job.stage}`;
  out.line(`${label} ${out.c.bold(job._id)}  ${basename(file)}  ${out.c.dim(note)}`);
}

/** Follows every job at once; returns the final jobs in the same order. */
async function followAll(
  ctx: CliContext,
  client: GigafactoryClient,
  submitted: Submitted[],
  opts: { quiet: boolean },
): Promise<Job[]> {
  const { out } = ctx;
  const live = new Map(
    submitted.map((s) => [s.job._id, { stage: s.job.stage as Stage, detail: "", done: isTerminalStage(s.job.stage) }]),
  );
  const render = () => {
    if (opts.quiet) return;
    const parts = [...live]
      .filter(([, state]) => !state.done)
      .map(
        ([id, state]) => `${id} ${paintStage(out.c, state.stage)}${state.detail ? out.c.dim(` ${state.detail}`) : ""}`,
      );
    if (parts.length) out.setStatus(`${out.c.dim("⠿")} ${parts.join(out.c.dim(" · "))}`);
    else out.clearStatus();
  };
  const interrupt = ctx.interruptSignal();
  try {
    render();
    return await Promise.all(
      submitted.map(async ({ job }) => {
        const state = live.get(job._id);
        const final = await waitForJob(client, job._id, {
          signal: interrupt.signal,
          onEvent: (event) => {
            if (!state || opts.quiet) return;
            const stage = stageAfter(event);
            if (stage && stage !== state.stage) {
              state.stage = stage;
              state.detail = event.type === "claimed" ? describeEvent(event) : "";
              if (!out.tty && !isTerminalStage(stage)) out.line(`${job._id}\t${stage}\t${describeEvent(event)}`);
            } else if (isOutputEvent(event) && out.tty) {
              state.detail = safeText(event.type === "log" ? eventText(event) : describeEvent(event));
            } else if (event.type === "approval_requested" && !out.tty) {
              out.line(`${job._id}\treview\t${describeEvent(event)}`);
            }
            render();
          },
        });
        if (state) state.done = true;
        if (!opts.quiet) printFinal(ctx, final);
        render();
        return final;
      }),
    );
  } catch (error) {
    out.clearStatus();
    if (interrupt.signal.aborted) {
      out.warn("stopped waiting; the jobs go on (gf jobs, gf logs ID -f)");
      ctx.exitCode = 130;
      return submitted.map((s) => s.job);
    }
    throw error;
  } finally {
    interrupt.dispose();
    out.clearStatus();
  }
}

function printFinal(ctx: CliContext, job: Job): void {
  const { out } = ctx;
  const took = job.endedAt ? formatMs(job.endedAt.getTime() - job.createdAt.getTime()) : "";
  const reason = job.reason ? `: ${job.reason}` : "";
  if (!out.tty) {
    out.line(
      `${job._id}\t${job.stage}\t${job.stage === "shipped" ? `in ${took}` : `attempt ${job.attempt}/${job.maxAttempts}${reason}`}`,
    );
  } else if (job.stage === "shipped") {
    out.line(
      `${out.c.green("✓")} ${out.c.bold(job._id)} ${out.c.green("shipped")} in ${took}  ${out.c.dim(job.title)}`,
    );
  } else {
    out.line(
      `${out.c.red("✗")} ${out.c.bold(job._id)} ${paintStage(out.c, job.stage)} after attempt ${job.attempt}/${job.maxAttempts}${reason}  ${out.c.dim(`gf logs ${job._id}`)}`,
    );
  }
}
