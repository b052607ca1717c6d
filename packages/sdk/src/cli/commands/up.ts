import { join, relative, resolve } from "node:path";
import type { Command } from "commander";
import { FLEET_DIR, readFleetFile } from "../../helpers/fleet-connection.js";
import { privateDir } from "../up/private-files.js";
import { resolveApp, resolveDevDb } from "../apps.js";
import type { CliContext } from "../context.js";
import { CliError, EXIT } from "../errors.js";
import { durationOption, intOption, listOption } from "../options.js";
import { LocalFleet } from "../up/local-fleet.js";
import { nextSteps } from "../up/next-steps.js";

interface UpOptions {
  port: number;
  host: string;
  factories: number;
  seats?: number;
  data: string;
  leaseTtl?: string;
  engines?: string[];
  capabilities?: string[];
  mongoUrl?: string;
  logLevel: string;
}

export function registerUpCommands(program: Command, ctx: CliContext): void {
  program
    .command("up")
    .description("run a whole local fleet in the foreground: MongoDB, a coordinator and N factories")
    .option("-p, --port <n>", "coordinator port (0 picks a free one)", intOption(0, 65_535), 7700)
    .option("--host <host>", "coordinator address", "127.0.0.1")
    .option("-n, --factories <n>", "how many factories", intOption(0, 64), 1)
    .option("--seats <n>", "jobs each factory runs at once (default: the factory's own)", intOption(1, 64))
    .option("-d, --data <dir>", "where .gigafactory/ (tokens, fleet.json, logs, workspaces) lives", ".")
    .option("--lease-ttl <duration>", "job lease length, e.g. 30s", durationOption)
    .option("--engines <list>", "engines the factories offer (default: shell + agent CLIs on PATH)", listOption)
    .option("--capabilities <list>", "capabilities the factories have", listOption)
    .option("--mongo-url <url>", "use this MongoDB instead of starting one (or GF_MONGO_URL)")
    .option("--log-level <level>", "apps' log level (logs go to .gigafactory/logs/)", "info")
    .addHelpText(
      "after",
      `
Writes <data>/.gigafactory/fleet.json (mode 0600) with the URL, an admin token (token) and a
service token (serviceToken); gf commands run under <data> find the fleet with no flags.
A factory or the coordinator that dies is started again (after 1s, doubling up to 30s; a job
it held goes back to the inbox when its lease runs out). gf up stops the fleet and exits
non-zero when one dies 5 times within 5 minutes, or when MongoDB dies.
Ctrl-C stops the fleet: factories drain first, then the coordinator, then MongoDB.
A second Ctrl-C stops everything at once.`,
    )
    .action(async (opts: UpOptions) => {
      const stateDir = resolve(ctx.cwd, opts.data, FLEET_DIR);
      await refuseRunningFleet(join(stateDir, "fleet.json"));
      const coordinator = await resolveApp("coordinator", ctx);
      const factory = opts.factories > 0 ? await resolveApp("factory", ctx) : undefined;
      await privateDir(stateDir);
      const mongoUrl = opts.mongoUrl ?? (ctx.env.GF_MONGO_URL?.trim() || undefined);
      const fleet = new LocalFleet({
        stateDir,
        host: opts.host,
        port: opts.port,
        factories: opts.factories,
        seats: opts.seats,
        leaseTtl: opts.leaseTtl,
        engines: opts.engines,
        capabilities: opts.capabilities,
        mongoUrl,
        logLevel: opts.logLevel,
        coordinator,
        factory,
        mongoModule: mongoUrl ? undefined : await resolveDevDb(coordinator),
        env: { ...ctx.env },
        out: ctx.out,
      });

      const { out } = ctx;
      let stopReason: string | undefined;
      const stopped = new Promise<void>((resolveStopped) => {
        const onSignal = (signal: NodeJS.Signals) => {
          if (stopReason !== undefined) {
            out.warn("stopping everything now");
            fleet.force();
            return;
          }
          stopReason = signal;
          out.line("");
          resolveStopped();
        };
        process.on("SIGINT", onSignal);
        process.on("SIGTERM", onSignal);
        process.on("SIGHUP", onSignal);
      });

      try {
        const starting = fleet.start();
        // after a Ctrl-C during start-up, its rejection is expected and close() waits for it
        starting.catch(() => {});
        const started = await Promise.race([starting, stopped.then(() => undefined)]);
        if (!started)
          ctx.exitCode = 130; // interrupted before the fleet was up
        else {
          const rel = (path: string) => relative(ctx.cwd, path) || ".";
          out.line(
            `${out.c.bold("fleet file".padEnd(12))}${rel(fleet.fleetFile)} ${out.c.dim("(url, admin token, serviceToken)")}`,
          );
          out.line(`${out.c.bold("logs".padEnd(12))}${rel(fleet.logDir)}/`);
          out.line("");
          const here = resolve(ctx.cwd, opts.data) === ctx.cwd ? "here" : `in ${rel(resolve(ctx.cwd, opts.data))}`;
          out.line(`${out.c.green("✓")} the fleet is up. Next, in another terminal ${here}:`);
          for (const step of nextSteps(ctx.self, resolve(ctx.cwd, opts.data))) out.line(`  ${step}`);
          out.line(out.c.dim("Ctrl-C stops the fleet (factories drain first)."));
          // a factory or the coordinator that dies is restarted; this is what the fleet cannot survive
          const crashed = await Promise.race([fleet.supervise(), stopped.then(() => undefined)]);
          if (crashed) {
            out.warn(`gf up: ${crashed}; stopping the fleet (see ${rel(fleet.logDir)}/)`);
            ctx.exitCode = EXIT.failed;
          }
        }
      } catch (error) {
        if (stopReason === undefined) {
          out.warn(`gf up: ${(error as Error).message}`);
          ctx.exitCode = EXIT.failed;
        }
      } finally {
        await fleet.close();
        out.line(stopReason ? "the fleet is stopped" : out.c.dim("the fleet is stopped"));
      }
    });
}

async function refuseRunningFleet(file: string): Promise<void> {
  let pid: number | undefined;
  try {
    pid = (await readFleetFile(file)).pid;
  } catch {
    return; // none, or unreadable: it is rewritten
  }
  if (pid === undefined || pid === process.pid) return;
  try {
    process.kill(pid, 0);
  } catch {
    return; // stale: that gf up is gone
  }
  throw new CliError(
    `a fleet is already running here (gf up, pid ${pid}; ${file}); stop it first or pass --data DIR`,
    EXIT.usage,
  );
}
