import { type Job, type Run, Stage } from "@gigafactory/schema";
import { type Command, InvalidArgumentError } from "commander";
import type { CliContext } from "../context.js";
import { attemptOf, describeInsights, paintStage } from "../describe.js";
import { globalsOf, intOption, listOption } from "../options.js";
import { formatAge, formatMs } from "../output.js";

const PAGE_MAX = 200;

export function registerJobCommands(program: Command, ctx: CliContext): void {
  program
    .command("jobs")
    .description("list jobs, newest first")
    .option(
      "-s, --stage <stages>",
      `only these stages (${Stage.options.join(", ")}); repeat or comma-separate`,
      stageList,
    )
    .option("-e, --engine <engine>", "only jobs for this engine")
    .option("-n, --limit <n>", "how many", intOption(1, 10_000), 20)
    .option("--json", "print the jobs as a JSON array")
    .action(async (opts: { stage?: Stage[]; engine?: string; limit: number; json?: boolean }, command: Command) => {
      const client = await ctx.client(globalsOf(command));
      const jobs: Job[] = [];
      let cursor: string | undefined;
      // bounded: each page brings at least one job or ends the loop
      while (jobs.length < opts.limit) {
        const page = await client.trpc.jobs.list.query({
          limit: Math.min(PAGE_MAX, opts.limit - jobs.length),
          ...(opts.stage?.length ? { stage: opts.stage } : {}),
          ...(opts.engine ? { engine: opts.engine } : {}),
          ...(cursor ? { cursor } : {}),
        });
        jobs.push(...page.items);
        if (!page.nextCursor || page.items.length === 0) break;
        cursor = page.nextCursor;
      }
      if (opts.json) return ctx.out.json(jobs);
      const { c } = ctx.out;
      const now = new Date();
      ctx.out.table(
        jobs,
        [
          { header: "ID", value: (job) => job._id, color: (text) => c.bold(text) },
          {
            header: "STAGE",
            value: (job) => (job.awaitingApproval ? `${job.stage}*` : job.stage),
            color: (text, job) => paintStage(c, job.stage, text),
          },
          { header: "ATTEMPT", value: attemptOf, align: "right" },
          { header: "ENGINE", value: (job) => job.engine },
          { header: "UPDATED", value: (job) => formatAge(job.updatedAt, now), color: (text) => c.dim(text) },
          { header: "TITLE", value: (job) => job.title },
        ],
        { empty: "no jobs yet: gf submit FILE.md" },
      );
      if (ctx.out.tty && jobs.some((job) => job.awaitingApproval))
        ctx.out.line(c.dim("* waiting for approval: gf approve ID / gf reject ID"));
    });

  program
    .command("job")
    .description("show one job with its runs (attempt, factory, result, insights)")
    .argument("<id>", "job id")
    .option("--json", "print { job, runs } as JSON")
    .action(async (jobId: string, opts: { json?: boolean }, command: Command) => {
      const client = await ctx.client(globalsOf(command));
      const [job, runs] = await Promise.all([
        client.trpc.jobs.get.query({ jobId }),
        client.trpc.jobs.runs.query({ jobId }),
      ]);
      if (opts.json) return ctx.out.json({ job, runs });
      printJob(ctx, job, runs);
    });

  program
    .command("cancel")
    .description("cancel a job: at once when waiting, else its factory is told to stop it")
    .argument("<id>", "job id")
    .option("-r, --reason <text>", "why, recorded on the job")
    .option("--json", "print the job as JSON")
    .action(async (jobId: string, opts: { reason?: string; json?: boolean }, command: Command) => {
      const client = await ctx.client(globalsOf(command));
      const job = await client.trpc.jobs.cancel.mutate({ jobId, ...(opts.reason ? { reason: opts.reason } : {}) });
      if (opts.json) return ctx.out.json(job);
      const state =
        job.stage === "cancelled" ? "cancelled" : `cancel requested; ${job.lease.holder ?? "its factory"} stops it`;
      ctx.out.line(`${job._id}\t${state}`);
    });

  program
    .command("retry")
    .description("send a failed or cancelled job back to the inbox with fresh attempts")
    .argument("<id>", "job id")
    .option("--json", "print the job as JSON")
    .action(async (jobId: string, opts: { json?: boolean }, command: Command) => {
      const client = await ctx.client(globalsOf(command));
      const job = await client.trpc.jobs.retry.mutate({ jobId });
      if (opts.json) return ctx.out.json(job);
      ctx.out.line(`${job._id}\t${job.stage}`);
    });

  program
    .command("seal")
    .description("close a composite job's set of children: it settles once every child has finished")
    .argument("<id>", "job id of the composite parent")
    .option("--json", "print the job as JSON")
    .action(async (jobId: string, opts: { json?: boolean }, command: Command) => {
      const client = await ctx.client(globalsOf(command));
      const job = await client.trpc.jobs.seal.mutate({ jobId });
      if (opts.json) return ctx.out.json(job);
      ctx.out.line(`${job._id}\t${job.stage}`);
    });

  for (const decision of ["approve", "reject"] as const) {
    program
      .command(decision)
      .description(
        decision === "approve"
          ? "approve a job waiting for human review: it ships"
          : "reject a job waiting for review: it goes back for another attempt, or fails when none are left",
      )
      .argument("<id>", "job id")
      .option("--note <text>", "a note recorded with the decision")
      .option("--json", "print the job as JSON")
      .action(async (jobId: string, opts: { note?: string; json?: boolean }, command: Command) => {
        const client = await ctx.client(globalsOf(command));
        const input = { jobId, ...(opts.note ? { note: opts.note } : {}) };
        const job =
          decision === "approve"
            ? await client.trpc.jobs.approve.mutate(input)
            : await client.trpc.jobs.reject.mutate(input);
        if (opts.json) return ctx.out.json(job);
        ctx.out.line(`${job._id}\t${job.stage}`);
      });
  }
}

function stageList(value: string, previous: Stage[] = []): Stage[] {
  const stages = listOption(value);
  const bad = stages.filter((stage) => !Stage.safeParse(stage).success);
  if (bad.length) throw new InvalidArgumentError(`unknown stage ${bad.join(", ")} (use ${Stage.options.join(", ")})`);
  return [...previous, ...(stages as Stage[])];
}

function printJob(ctx: CliContext, job: Job, runs: Run[]): void {
  const { out } = ctx;
  const { c } = out;
  const now = new Date();
  const when = (date: Date | undefined) => (date ? `${date.toISOString()} (${formatAge(date, now)})` : undefined);
  if (out.tty) out.line(`${c.bold(job._id)}  ${job.title}`);
  out.fields([
    ...(out.tty
      ? []
      : ([
          ["id", job._id],
          ["title", job.title],
        ] as const)),
    [
      "stage",
      `${paintStage(c, job.stage)}${job.awaitingApproval ? " (waiting for approval)" : ""}${job.cancelRequested && job.stage !== "cancelled" ? " (cancel requested)" : ""}`,
    ],
    ["last result", job.lastResult],
    ["reason", job.reason],
    ["engine", `${job.engine}${job.profile ? ` with profile ${job.profile.name}@${job.profile.version}` : ""}`],
    ["attempt", attemptOf(job)],
    ["priority", String(job.priority)],
    ["capabilities", job.capabilities.join(", ")],
    ["key", job.idempotencyKey],
    [
      "deps",
      job.deps.length
        ? `${job.deps.join(", ")}${job.pendingDeps.length ? ` (waiting for ${job.pendingDeps.join(", ")})` : ""}`
        : undefined,
    ],
    ["lock", job.lock],
    [
      "tracker",
      job.trackerItemId
        ? `${job.trackerItemId}${job.trackerEchoed ? ` (echoed ${job.trackerEchoed})` : ""}`
        : undefined,
    ],
    [
      "rails",
      job.rails
        ? `policy v${job.rails.policyVersion}: checked ${job.rails.checked.join(", ") || "nothing"}; gates ${job.rails.gates.join(", ") || "none"}`
        : undefined,
    ],
    ["verify", job.verify.join(" && ")],
    ["review", job.review.mode === "none" ? undefined : job.review.mode],
    ["timeout", formatMs(job.timeoutMs)],
    ["held by", job.lease.holder ? `${job.lease.holder} (epoch ${job.lease.epoch})` : undefined],
    ["checkpoint", job.checkpoint ? `${job.checkpoint.wipBranch} ${job.checkpoint.wipCommit.slice(0, 10)}` : undefined],
    ["created", when(job.createdAt)],
    ["ended", when(job.endedAt)],
    ["events", String(job.eventSeq)],
  ]);
  if (out.tty) out.line(`\n${c.bold("runs")}`);
  out.table(
    runs,
    [
      { header: "ATTEMPT", value: (run) => String(run.attempt), align: "right" },
      { header: "FACTORY", value: (run) => run.factoryId },
      {
        header: "RESULT",
        value: (run) => run.result ?? "running",
        color: (text, run) => (run.result === "success" ? c.green(text) : run.result ? c.red(text) : c.cyan(text)),
      },
      { header: "STARTED", value: (run) => formatAge(run.startedAt, now) },
      {
        header: "TOOK",
        value: (run) => formatMs(run.endedAt ? run.endedAt.getTime() - run.startedAt.getTime() : undefined),
        align: "right",
      },
      { header: "EXIT", value: (run) => (run.exit ? (run.exit.signal ?? String(run.exit.code)) : "-") },
      {
        header: "INSIGHTS",
        value: (run) => `${describeInsights(run.insights)}${run.reason ? ` — ${run.reason}` : ""}`,
      },
    ],
    { empty: "no runs yet" },
  );
}
