import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { z } from "zod";

/** The folder `gf up` keeps its state in, under its `--data` directory. */
export const FLEET_DIR = ".gigafactory";
/** The file `gf up` writes so later commands and scripts find the fleet with no flags. */
export const FLEET_FILE = "fleet.json";

/** What `gf up` writes to `.gigafactory/fleet.json` (mode 0600) while the fleet runs. */
export const FleetFile = z.object({
  url: z.string().url(),
  /** An admin token: every `gf` command works with it. */
  token: z.string().min(1),
  /** A service token for the product: what a service or script should use. */
  serviceToken: z.string().min(1).optional(),
  /** The `gf up` process; gone means the file is stale. */
  pid: z.number().int().positive().optional(),
  startedAt: z.string().optional(),
  /** Process ids of what `gf up` started, for tools and tests. */
  processes: z
    .object({
      coordinator: z.number().int().optional(),
      factories: z.array(z.object({ id: z.string(), pid: z.number().int() })).optional(),
      mongoHost: z.number().int().optional(),
      mongo: z.number().int().optional(),
    })
    .optional(),
  mongo: z.string().optional(),
  /**
   * Which step of the MongoDB launcher's ladder gave the fleet's database (`url`, `mongod-binary`,
   * `path`, `mongodb-memory-server`, `stand-in`) and why each earlier step was skipped.
   */
  mongoChoice: z.object({ source: z.string(), backend: z.string(), skipped: z.array(z.string()) }).optional(),
});
export type FleetFile = z.infer<typeof FleetFile>;

export interface FleetConnection {
  url: string;
  token: string;
  /** Where the two came from, for messages: `flags`, `env`, or the fleet file's path. */
  source: "flags" | "env" | string;
}

export interface FindFleetConnectionOptions {
  /** Explicit values win over everything else (the CLI's `--url` / `--token`). */
  url?: string | undefined;
  token?: string | undefined;
  /** Where to start looking for `.gigafactory/fleet.json`, walking up. @default process.cwd() */
  cwd?: string;
  /** Read `GF_URL` / `GF_TOKEN` from here. @default process.env */
  env?: Readonly<Record<string, string | undefined>>;
  /** Which token of a fleet file to use: its admin `token` or its `serviceToken`. @default "admin" */
  role?: "admin" | "service";
}

/** The nearest `.gigafactory/fleet.json` in `from` or a parent directory. */
export async function findFleetFile(from: string = process.cwd()): Promise<string | undefined> {
  let dir = resolve(from);
  for (let depth = 0; depth < 64; depth++) {
    const candidate = join(dir, FLEET_DIR, FLEET_FILE);
    try {
      await readFile(candidate);
      return candidate;
    } catch {
      // not here; try the parent
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
  return undefined;
}

export async function readFleetFile(path: string): Promise<FleetFile> {
  const text = await readFile(path, "utf8");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`${path} is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = FleetFile.safeParse(json);
  if (!parsed.success)
    throw new Error(
      `${path} is not a fleet file: ${parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ")}`,
    );
  return parsed.data;
}

/**
 * A URL and token given explicitly, as a pair from one place: `url`/`token` (the CLI's flags),
 * else `GF_URL`/`GF_TOKEN`. Undefined when neither place has either; throws when a place has
 * only one of the two, since the other would have to come from somewhere else.
 */
export function explicitConnection(
  opts: Pick<FindFleetConnectionOptions, "url" | "token" | "env"> = {},
): FleetConnection | undefined {
  const flagUrl = nonEmpty(opts.url);
  const flagToken = nonEmpty(opts.token);
  if (flagUrl !== undefined || flagToken !== undefined) {
    if (flagUrl === undefined || flagToken === undefined)
      throw new FleetConnectionError("--url and --token go together: give both, or neither");
    return { url: flagUrl, token: flagToken, source: "flags" };
  }
  const env = opts.env ?? process.env;
  const envUrl = nonEmpty(env.GF_URL);
  const envToken = nonEmpty(env.GF_TOKEN);
  if (envUrl !== undefined || envToken !== undefined) {
    if (envUrl === undefined || envToken === undefined)
      throw new FleetConnectionError("GF_URL and GF_TOKEN go together: set both, or neither");
    return { url: envUrl, token: envToken, source: "env" };
  }
  return undefined;
}

/** A URL without its token or a token without its URL: refused, never completed from elsewhere. */
export class FleetConnectionError extends Error {
  override name = "FleetConnectionError";
}

/**
 * Where to reach a fleet, as a URL and a token from ONE place, in order: explicit `url`/`token`,
 * else `GF_URL`/`GF_TOKEN`, else the nearest `.gigafactory/fleet.json` (written by `gf up`) with
 * its own token. Never mixed: a fleet file planted in a parent directory must not receive the
 * token from the environment, so half a pair is an error ({@link FleetConnectionError}).
 * Returns undefined when nothing is found anywhere.
 */
export async function findFleetConnection(opts: FindFleetConnectionOptions = {}): Promise<FleetConnection | undefined> {
  const explicit = explicitConnection(opts);
  if (explicit) return explicit;
  const file = await findFleetFile(opts.cwd);
  if (!file) return undefined;
  const fleet = await readFleetFile(file);
  const token = opts.role === "service" ? (fleet.serviceToken ?? fleet.token) : fleet.token;
  return { url: fleet.url, token, source: file };
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}
