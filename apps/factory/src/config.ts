import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { Capability, Duration, EngineId, FactoryId, LogLevel, commaList } from "@gigafactory/schema";
import { z } from "zod";
import { CLAIM_POLL_MS, DRAIN_GRACE_MS, KILL_GRACE_MS } from "./options.js";

/**
 * Factory configuration: flags win over environment variables, which win over defaults. The
 * timing settings default to (and are documented with) the rules in `options.ts`.
 */
export const FactoryConfig = z.object({
  url: z.string().url(),
  token: z.string().min(1),
  /** Stable per host and work dir when not given (kept in `<workDir>/factory-id`). */
  factoryId: FactoryId.optional(),
  capabilities: commaList(Capability).default([]),
  /** Engines offered; default: shell plus every agent CLI found on PATH. */
  engines: commaList(EngineId).optional(),
  seats: z.coerce.number().int().min(1).max(64).default(2),
  workDir: z.string().default(join(".gigafactory", "factory")),
  /** Overrides the coordinator's suggested heartbeat interval (`heartbeatEvery` in options.ts). */
  heartbeat: Duration.optional(),
  /** Claim on this timer too, in case a nudge was missed ({@link CLAIM_POLL_MS}). */
  claimPoll: Duration.default(CLAIM_POLL_MS),
  /** Running jobs' grace on SIGTERM before checkpoint and release ({@link DRAIN_GRACE_MS}). */
  drainGrace: Duration.default(DRAIN_GRACE_MS),
  /** TERM, then KILL after this long ({@link KILL_GRACE_MS}). */
  killGrace: Duration.default(KILL_GRACE_MS),
  /** How long to wait for an unreachable coordinator at start-up; unbounded when not set. */
  startTimeout: Duration.optional(),
  logLevel: LogLevel.default("info"),
  /**
   * `auto`: engines and verify gates run under bubblewrap, and the factory refuses to start
   * without it; `off` (`--no-sandbox`, `GF_SANDBOX=off`) runs them with the factory's own rights.
   */
  sandbox: z.enum(["auto", "off"]).default("auto"),
  /** `host:port` serving this factory's Prometheus metrics at `/metrics`; off when not given. */
  /** Traces go to this OTLP/HTTP collector (`OTEL_EXPORTER_OTLP_ENDPOINT`); unset, no SDK is loaded. */
  otlpEndpoint: z.string().url().optional(),
  metricsAddr: z
    .string()
    .regex(/^(?:\[[^\]]+\]|[^:]+):\d{1,5}$/, "host:port")
    .optional(),
});
export type FactoryConfig = z.output<typeof FactoryConfig>;

const FLAGS = {
  url: { type: "string" },
  token: { type: "string" },
  "token-file": { type: "string" },
  "no-sandbox": { type: "boolean" },
  id: { type: "string" },
  capabilities: { type: "string" },
  engines: { type: "string" },
  seats: { type: "string" },
  "work-dir": { type: "string" },
  "drain-grace": { type: "string" },
  "start-timeout": { type: "string" },
  "log-level": { type: "string" },
  "metrics-addr": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

export const USAGE = `gf-factory: runs coding-agent jobs for a Gigafactory coordinator

  --url URL              coordinator URL                       (GF_URL)
  --token TOKEN          factory-role bearer token             (GF_TOKEN)
  --token-file FILE      read the token from FILE (preferred)  (GF_TOKEN_FILE)
  --id ID                factory id (stable default per host)  (GF_FACTORY_ID)
  --capabilities a,b     capabilities offered                  (GF_CAPABILITIES)
  --engines shell,codex  engines offered (default: detected)   (GF_ENGINES)
  --seats N              concurrent jobs (default 2)           (GF_SEATS)
  --work-dir DIR         workspaces and state                  (GF_WORK_DIR)
  --drain-grace 30s      grace for running jobs on SIGTERM     (GF_DRAIN_GRACE)
  --start-timeout 10m    wait for the coordinator at start-up  (GF_START_TIMEOUT)
                         (default: as long as it takes)
  --log-level info                                             (GF_LOG_LEVEL)
  --no-sandbox           run engines and gates unsandboxed     (GF_SANDBOX=off)
  --metrics-addr H:P     serve Prometheus /metrics there (off) (GF_METRICS_ADDR)
`;

/** Reads flags and env once; the only place the factory looks at process.env for settings. */
export function readConfig(argv: string[], env: NodeJS.ProcessEnv): FactoryConfig | "help" {
  const { values } = parseArgs({ args: argv, options: FLAGS, strict: true, allowPositionals: false });
  if (values.help) return "help";
  const raw = {
    url: values.url ?? env.GF_URL,
    token: values.token ?? readTokenFile(values["token-file"] ?? env.GF_TOKEN_FILE) ?? env.GF_TOKEN,
    factoryId: values.id ?? env.GF_FACTORY_ID,
    capabilities: values.capabilities ?? env.GF_CAPABILITIES,
    engines: values.engines ?? env.GF_ENGINES,
    seats: values.seats ?? env.GF_SEATS,
    workDir: values["work-dir"] ?? env.GF_WORK_DIR,
    heartbeat: env.GF_HEARTBEAT,
    claimPoll: env.GF_CLAIM_POLL,
    drainGrace: values["drain-grace"] ?? env.GF_DRAIN_GRACE,
    killGrace: env.GF_KILL_GRACE,
    startTimeout: values["start-timeout"] ?? env.GF_START_TIMEOUT,
    logLevel: values["log-level"] ?? env.GF_LOG_LEVEL,
    sandbox: values["no-sandbox"] ? "off" : env.GF_SANDBOX,
    metricsAddr: values["metrics-addr"] ?? env.GF_METRICS_ADDR,
    otlpEndpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT,
  };
  const parsed = FactoryConfig.safeParse(
    Object.fromEntries(Object.entries(raw).filter(([, value]) => value !== undefined && value !== "")),
  );
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join(".") || "(config)"}: ${issue.message}`);
    throw new Error(`invalid factory configuration:\n${lines.join("\n")}\n\n${USAGE}`);
  }
  return { ...parsed.data, workDir: resolve(parsed.data.workDir) };
}

/** The token in `file` (trimmed); undefined without a file. Throws when the file cannot be read. */
function readTokenFile(file: string | undefined): string | undefined {
  if (file === undefined || file === "") return undefined;
  try {
    return readFileSync(file, "utf8").trim();
  } catch (error) {
    throw new Error(`cannot read the token file ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/**
 * Drops the token from this process's environment once it is read, so no child inherits it (the
 * sandbox keeps jobs from reading the environment the process started with, in /proc).
 */
export function forgetToken(env: NodeJS.ProcessEnv): void {
  delete env.GF_TOKEN;
}

/** The environment an engine child gets: the daemon's, minus the daemon's own secrets. */
export function childEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter(
      (entry): entry is [string, string] => entry[1] !== undefined && !entry[0].startsWith("GF_"),
    ),
  );
}

export function defaultFactoryId(): string {
  return (
    hostname()
      .replace(/[^A-Za-z0-9._-]/g, "-")
      .replace(/^[^A-Za-z0-9]+/, "") || "factory"
  );
}
