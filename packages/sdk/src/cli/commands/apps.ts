import { mkdtemp, rm } from "node:fs/promises";
import { constants, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import { explicitConnection, FleetConnectionError } from "../../helpers/fleet-connection.js";
import { type AppName, resolveApp } from "../apps.js";
import type { CliContext } from "../context.js";
import { CliError, EXIT } from "../errors.js";
import { durationOption, globalsOf, intOption, listOption } from "../options.js";
import { ChildApp } from "../up/child-app.js";
import { writePrivateFile } from "../up/private-files.js";

export function registerAppCommands(program: Command, ctx: CliContext): void {
  program
    .command("coordinator")
    .description("run one coordinator in the foreground (flags become its GF_* environment)")
    .option("-p, --port <n>", "port (GF_PORT; 0 picks a free one)", intOption(0, 65_535))
    .option("--host <host>", "address to listen on (GF_HOST)")
    .option("--mongo-url <url>", "MongoDB (GF_MONGO_URL); without it a local one is started")
    .option("--db <name>", "database name (GF_DB_NAME)")
    .option("-d, --data <dir>", "data dir: admin.token, blobs (GF_DATA_DIR)")
    .option("--lease-ttl <duration>", "job lease length (GF_LEASE_TTL)", durationOption)
    .option("--log-level <level>", "GF_LOG_LEVEL")
    .addHelpText("after", "\nEvery other GF_* variable in the environment reaches the coordinator as is.")
    .action(
      async (opts: {
        port?: number;
        host?: string;
        mongoUrl?: string;
        db?: string;
        data?: string;
        leaseTtl?: string;
        logLevel?: string;
      }) => {
        await runForeground(ctx, "coordinator", {
          GF_PORT: opts.port?.toString(),
          GF_HOST: opts.host,
          GF_MONGO_URL: opts.mongoUrl,
          GF_DB_NAME: opts.db,
          GF_DATA_DIR: opts.data === undefined ? undefined : resolve(ctx.cwd, opts.data),
          GF_LEASE_TTL: opts.leaseTtl,
          GF_LOG_LEVEL: opts.logLevel,
        });
      },
    );

  program
    .command("factory")
    .description("run one factory in the foreground; give it a factory token (GF_TOKEN, or --token)")
    .option("--id <id>", "factory id (GF_FACTORY_ID; default: the host name)")
    .option("--capabilities <list>", "what this host has, e.g. os:linux,gpu (GF_CAPABILITIES)", listOption)
    .option("--engines <list>", "engines to offer (GF_ENGINES; default: shell + agent CLIs on PATH)", listOption)
    .option("--seats <n>", "jobs at once (GF_SEATS)", intOption(1, 64))
    .option("--work-dir <dir>", "where job workspaces go (GF_WORK_DIR)")
    .option(
      "--drain-grace <duration>",
      "how long running jobs get on SIGTERM before they are handed back (GF_DRAIN_GRACE)",
      durationOption,
    )
    .option("--log-level <level>", "GF_LOG_LEVEL")
    .addHelpText(
      "after",
      "\nThe coordinator URL and the factory token come together: --url and --token, or GF_URL and GF_TOKEN.\nCreate a token with: gf token create --role factory",
    )
    .action(
      async (
        opts: {
          id?: string;
          capabilities?: string[];
          engines?: string[];
          seats?: number;
          workDir?: string;
          drainGrace?: string;
          logLevel?: string;
        },
        command: Command,
      ) => {
        const globals = globalsOf(command);
        // URL and factory token from one place: never a fleet file's URL with this token
        let found: ReturnType<typeof explicitConnection>;
        try {
          found = explicitConnection({ url: globals.url, token: globals.token, env: ctx.env });
        } catch (error) {
          if (error instanceof FleetConnectionError) throw new CliError(error.message, EXIT.usage);
          throw error;
        }
        if (!found)
          throw new CliError(
            "gf factory needs the coordinator URL and a factory token: --url and --token, or GF_URL and GF_TOKEN (create one with: gf token create --role factory)",
            EXIT.usage,
          );
        if (globals.token !== undefined)
          ctx.out.warn(
            "warning: --token on the command line is visible to every user of this host in the process list; prefer GF_TOKEN",
          );
        // the token reaches the factory in a 0600 file: not in its argv or environment, which /proc shows
        const dir = await mkdtemp(join(tmpdir(), "gf-factory-token-"));
        try {
          const tokenFile = join(dir, "token");
          await writePrivateFile(tokenFile, `${found.token}\n`);
          await runForeground(ctx, "factory", {
            GF_URL: found.url,
            GF_TOKEN: null,
            GF_TOKEN_FILE: tokenFile,
            GF_FACTORY_ID: opts.id,
            GF_CAPABILITIES: opts.capabilities?.join(","),
            GF_ENGINES: opts.engines?.join(","),
            GF_SEATS: opts.seats?.toString(),
            GF_WORK_DIR: opts.workDir === undefined ? undefined : resolve(ctx.cwd, opts.workDir),
            GF_DRAIN_GRACE: opts.drainGrace,
            GF_LOG_LEVEL: opts.logLevel,
          });
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      },
    );
}

/**
 * Runs an app with our stdout/stderr and passes each signal on exactly once (the child has its
 * own process group, so a terminal Ctrl-C reaches only us): the app's own rules apply — the
 * first SIGINT/SIGTERM stops it gracefully, a second one at once. Exits with the app's code.
 */
async function runForeground(
  ctx: CliContext,
  name: AppName,
  vars: Record<string, string | null | undefined>,
): Promise<void> {
  const app = await resolveApp(name, ctx);
  const env: NodeJS.ProcessEnv = { ...ctx.env };
  // undefined: leave as is; null: remove
  for (const [key, value] of Object.entries(vars)) {
    if (value === null) delete env[key];
    else if (value !== undefined) env[key] = value;
  }
  const child = await ChildApp.start({ label: name, script: app.main, env });
  const forward = (signal: NodeJS.Signals) => child.signal(signal);
  const signals: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
  for (const signal of signals) process.on(signal, forward);
  try {
    const { code, signal } = await child.exited;
    ctx.exitCode = code ?? (signal ? 128 + (constants.signals[signal] ?? 0) : EXIT.failed);
  } finally {
    for (const signal of signals) process.off(signal, forward);
  }
}
