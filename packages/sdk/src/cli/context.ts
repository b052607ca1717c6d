import { type GigafactoryClient, createGigafactoryClient } from "../client.js";
import { FleetConnectionError, findFleetConnection } from "../helpers/fleet-connection.js";
import { CliError, EXIT } from "./errors.js";
import { Output } from "./output.js";

/** The global options every command accepts. */
export interface GlobalOptions {
  url?: string;
  token?: string;
}

export interface CliContextOptions {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  /** How to spell `gf` in hints (`gf`, or `pnpm gf` inside the repository). @default "gf" */
  self?: string;
}

/** What a command gets: the output, the environment, and a lazily made client. */
export class CliContext {
  readonly out: Output;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** How to spell `gf` in next-step hints: `gf`, or `pnpm gf` when run as the repository's script. */
  readonly self: string;
  /** What the process exits with when the command returns normally (e.g. 1: a job did not ship). */
  exitCode: number = 0;
  private connected: { client: GigafactoryClient; source: string } | undefined;

  constructor(opts: CliContextOptions) {
    this.out = new Output(opts);
    this.env = opts.env;
    this.cwd = opts.cwd;
    this.self = opts.self ?? "gf";
  }

  /**
   * A client for the fleet named by `--url/--token`, else GF_URL/GF_TOKEN, else the nearest
   * `.gigafactory/fleet.json` with its own token: URL and token always from the same place.
   * Made once per run; closed by {@link close}.
   */
  async client(globals: GlobalOptions): Promise<GigafactoryClient> {
    if (this.connected) return this.connected.client;
    let found: Awaited<ReturnType<typeof findFleetConnection>>;
    try {
      found = await findFleetConnection({ url: globals.url, token: globals.token, env: this.env, cwd: this.cwd });
    } catch (error) {
      if (error instanceof FleetConnectionError) throw new CliError(error.message, EXIT.usage);
      throw new CliError(`cannot read the fleet file: ${(error as Error).message}`, EXIT.unreachable);
    }
    if (!found) {
      throw new CliError(
        `no fleet to talk to: start one with \`${this.self} up\`, or give --url and --token (or GF_URL and GF_TOKEN)`,
        EXIT.unreachable,
      );
    }
    this.connected = { client: createGigafactoryClient({ url: found.url, token: found.token }), source: found.source };
    return this.connected.client;
  }

  /** `http://127.0.0.1:7700 from .gigafactory/fleet.json`, for error messages. */
  where(): string | undefined {
    if (!this.connected) return undefined;
    const { client, source } = this.connected;
    return source === "flags"
      ? client.url
      : source === "env"
        ? `${client.url} from GF_URL`
        : `${client.url} from ${source}`;
  }

  /**
   * Aborts the returned signal on Ctrl-C (or SIGTERM) instead of dying mid-line, so a
   * command that follows jobs can tidy its status line; a second Ctrl-C exits at once.
   */
  interruptSignal(): { signal: AbortSignal; dispose(): void } {
    const controller = new AbortController();
    const onSignal = (signal: NodeJS.Signals) => {
      if (controller.signal.aborted) process.exit(130);
      controller.abort(new CliError(`interrupted (${signal})`, EXIT.failed));
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    return {
      signal: controller.signal,
      dispose: () => {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
      },
    };
  }

  async close(): Promise<void> {
    await this.connected?.client.close();
  }
}
