import { readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { createGigafactoryClient } from "../../client.js";
import { FLEET_FILE, type FleetFile } from "../../helpers/fleet-connection.js";
import type { ResolvedApp } from "../apps.js";
import type { Output } from "../output.js";
import { ChildApp, type ChildExit } from "./child-app.js";
import { privateDir, writePrivateFile } from "./private-files.js";
import { RestartPolicy } from "./restart-policy.js";

export interface LocalFleetOptions {
  /** `<data>/.gigafactory`: admin token, fleet.json, logs, blobs, factory workspaces. */
  stateDir: string;
  host: string;
  port: number;
  factories: number;
  seats?: number | undefined;
  leaseTtl?: string | undefined;
  engines?: string[] | undefined;
  capabilities?: string[] | undefined;
  /** An existing MongoDB; without it a local one is started. */
  mongoUrl?: string | undefined;
  logLevel: string;
  coordinator: ResolvedApp;
  factory: ResolvedApp | undefined;
  /** The entry file of `@gigafactory/devdb`, for the MongoDB host process; needed without `mongoUrl`. */
  mongoModule?: string | undefined;
  env: NodeJS.ProcessEnv;
  out: Output;
}

/** How long each kind of process gets to stop before SIGKILL. */
const GRACE_MS = { factory: 90_000, coordinator: 20_000, mongo: 15_000, forced: 5_000 } as const;
const READY_MS = { mongo: 10 * 60_000, coordinator: 60_000, factory: 60_000 } as const;

/** The mongo host script, beside this file. */
const MONGO_HOST = fileURLToPath(new URL("./mongo-host.js", import.meta.url));

/** A process `gf up` restarts when it dies: the one running now, and how to start another. */
interface Slot {
  app: ChildApp;
  start(): Promise<ChildApp>;
}

/**
 * A whole fleet on this machine: MongoDB, one coordinator, N factories, each its own process.
 * `supervise()` restarts a factory or the coordinator that dies. `close()` stops them in order
 * (factories drain first, then the coordinator, then MongoDB), is idempotent, and runs every
 * step even when one fails.
 */
export class LocalFleet {
  private mongo: ChildApp | undefined;
  private coordinator: Slot | undefined;
  private readonly factories: Array<Slot & { id: string }> = [];
  private fleet: (FleetFile & { mongo: string }) | undefined;
  /** Restarts under way: `close()` waits for them (they stop at once once it aborts). */
  private readonly restarts = new Set<Promise<unknown>>();
  private readonly abort = new AbortController();
  private closing: Promise<void> | undefined;
  private starting: Promise<unknown> | undefined;
  private forced = false;
  readonly fleetFile: string;
  readonly logDir: string;

  constructor(private readonly opts: LocalFleetOptions) {
    this.fleetFile = join(opts.stateDir, FLEET_FILE);
    this.logDir = join(opts.stateDir, "logs");
  }

  /** Starts everything; a `close()` meanwhile makes it stop where it is and reject. */
  start(): Promise<FleetFile & { mongo: string }> {
    const starting = this.startAll();
    this.starting = starting.catch(() => {});
    return starting;
  }

  private async startAll(): Promise<FleetFile & { mongo: string }> {
    const { opts } = this;
    const { out } = opts;
    const signal = this.abort.signal;
    await privateDir(this.logDir);
    const baseEnv = { ...opts.env, GF_LOG_LEVEL: opts.logLevel };

    let mongoUrl = opts.mongoUrl;
    let mongoDescription = `external ${redact(opts.mongoUrl ?? "")}`;
    let mongoChoice: MongoChoice = { source: "url", backend: "external", skipped: [] };
    if (!mongoUrl) {
      out.line(out.c.dim("starting MongoDB (a first start may download mongod or build the in-memory stand-in)…"));
      this.mongo = await ChildApp.start({
        label: "mongodb",
        script: MONGO_HOST,
        env: { ...baseEnv, GF_MONGO_MODULE: opts.mongoModule ?? "" },
        logFile: join(this.logDir, "mongo.log"),
        readyMsg: "GF_MONGO_READY",
        readyTimeoutMs: READY_MS.mongo,
        signal,
      });
      mongoUrl = String(this.mongo.ready.url);
      mongoDescription = String(this.mongo.ready.describe ?? mongoUrl);
      mongoChoice = mongoChoiceOf(this.mongo.ready);
    }
    out.line(`${label(out, "mongodb")}${mongoDescription}`);
    // the launcher's ladder: which step gave the database, and why the ones before it were skipped
    out.line(`${label(out, "")}${out.c.dim(`from: ${mongoChoice.source}`)}`);
    for (const reason of mongoChoice.skipped) out.line(`${label(out, "")}${out.c.dim(`skipped: ${reason}`)}`);

    const coordinatorMongoUrl = mongoUrl;
    const startCoordinator = (port: number) =>
      ChildApp.start({
        label: "coordinator",
        script: opts.coordinator.main,
        cwd: opts.stateDir,
        env: {
          ...baseEnv,
          GF_HOST: opts.host,
          GF_PORT: String(port),
          GF_MONGO_URL: coordinatorMongoUrl,
          GF_DATA_DIR: opts.stateDir,
          ...(opts.leaseTtl ? { GF_LEASE_TTL: opts.leaseTtl } : {}),
        },
        logFile: join(this.logDir, "coordinator.log"),
        readyMsg: "GF_COORDINATOR_READY",
        readyTimeoutMs: READY_MS.coordinator,
        signal,
      }).catch((error: unknown) => {
        const text = String((error as Error).message);
        if (text.includes("EADDRINUSE"))
          throw new Error(`port ${port} on ${opts.host} is in use: pass --port N (0 picks a free one)`, {
            cause: error,
          });
        throw error;
      });
    const coordinator = await startCoordinator(opts.port);
    const url = String(coordinator.ready.url);
    // a restart takes the same port (the one picked when --port was 0): factories keep their URL
    const boundPort = Number(new URL(url).port) || opts.port;
    this.coordinator = { app: coordinator, start: () => startCoordinator(boundPort) };
    signal.throwIfAborted();
    out.line(`${label(out, "coordinator")}${url} ${out.c.dim(`(pid ${coordinator.pid})`)}`);

    const adminToken = (
      await readFile(join(opts.stateDir, "admin.token"), "utf8").catch(() => {
        throw new Error(
          `no admin token at ${join(opts.stateDir, "admin.token")}: the coordinator writes it when the database has none (is --mongo-url a database set up from another data directory?)`,
        );
      })
    ).trim();
    const admin = createGigafactoryClient({ url, token: adminToken });
    let factoryToken: string;
    let serviceToken: string;
    try {
      factoryToken = (await admin.trpc.admin.createToken.mutate({ role: "factory", name: "gf up factories" })).token;
      serviceToken = (await admin.trpc.admin.createToken.mutate({ role: "service", name: "gf up" })).token;
    } finally {
      await admin.close();
    }

    signal.throwIfAborted();
    if (opts.factories > 0 && opts.factory) {
      const factory = opts.factory;
      const results = await Promise.allSettled(
        Array.from({ length: opts.factories }, async (_, i) => {
          const id = `local-${i + 1}`;
          const workDir = join(opts.stateDir, "work", id);
          await privateDir(join(opts.stateDir, "work"));
          await privateDir(workDir);
          // the token goes in a 0600 file, not the environment (a process's environ stays readable in /proc)
          const tokenFile = join(opts.stateDir, "work", `${id}.token`);
          await writePrivateFile(tokenFile, `${factoryToken}\n`);
          const start = () =>
            ChildApp.start({
              label: `factory ${id}`,
              script: factory.main,
              env: {
                ...baseEnv,
                GF_URL: url,
                GF_TOKEN_FILE: tokenFile,
                GF_FACTORY_ID: id,
                GF_WORK_DIR: workDir,
                ...(opts.seats ? { GF_SEATS: String(opts.seats) } : {}),
                ...(opts.engines?.length ? { GF_ENGINES: opts.engines.join(",") } : {}),
                ...(opts.capabilities?.length ? { GF_CAPABILITIES: opts.capabilities.join(",") } : {}),
              },
              logFile: join(this.logDir, `factory-${id}.log`),
              readyMsg: "GF_FACTORY_READY",
              readyTimeoutMs: READY_MS.factory,
              signal,
            });
          const app = await start();
          return { id, app, start };
        }),
      );
      // every one that did start is stopped by close(), even when another failed
      const started = results.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
      this.factories.push(...started);
      const failed = results.find((result): result is PromiseRejectedResult => result.status === "rejected");
      if (failed) throw failed.reason;
      out.line(
        `${label(out, "factories")}${started.map(({ id, app }) => `${id} ${out.c.dim(`(pid ${app.pid})`)}`).join(", ")}`,
      );
    }

    signal.throwIfAborted();
    const fleet: FleetFile & { mongo: string } = {
      url,
      token: adminToken,
      serviceToken,
      pid: process.pid,
      startedAt: new Date().toISOString(),
      mongo: mongoDescription,
      mongoChoice,
    };
    this.fleet = fleet;
    await this.writeFleetFile();
    return fleet;
  }

  /** Writes fleet.json with the pids running now; whole or not at all: readers never see half a file. */
  private async writeFleetFile(): Promise<void> {
    if (!this.fleet) return;
    this.fleet.processes = {
      ...(this.coordinator ? { coordinator: this.coordinator.app.pid } : {}),
      factories: this.factories.map(({ id, app }) => ({ id, pid: app.pid })),
      ...(this.mongo ? { mongoHost: this.mongo.pid } : {}),
      ...(typeof this.mongo?.ready.pid === "number" ? { mongo: this.mongo.ready.pid } : {}),
    };
    const tmp = `${this.fleetFile}.${process.pid}.tmp`;
    await writePrivateFile(tmp, `${JSON.stringify(this.fleet, null, 2)}\n`);
    await rename(tmp, this.fleetFile);
  }

  /**
   * Watches the started fleet until it must stop, and resolves with why: MongoDB exited (its data
   * may be gone with it), or a factory or the coordinator kept dying ({@link RestartPolicy}). A
   * factory or the coordinator that dies is started again after a backoff, and says so; a job its
   * lease held goes back to the inbox when the lease runs out, for any factory. Never resolves once
   * `close()` was called.
   */
  supervise(): Promise<string> {
    return new Promise((resolve) => {
      const mongo = this.mongo;
      if (mongo)
        void mongo.exited.then((exit) => {
          if (!this.abort.signal.aborted) resolve(`${mongo.label} ${exitText(exit)}`);
        });
      for (const slot of [this.coordinator, ...this.factories])
        if (slot) void this.keepRunning(slot).then((why) => why && resolve(why));
    });
  }

  /** Restarts `slot`'s process each time it dies; resolves with why it gave up, or undefined once closing. */
  private async keepRunning(slot: Slot): Promise<string | undefined> {
    const { out } = this.opts;
    const { signal } = this.abort;
    const policy = new RestartPolicy();
    const name = slot.app.label;
    let how = exitText(await slot.app.exited);
    for (;;) {
      if (signal.aborted) return undefined;
      const decision = policy.exited();
      if ("giveUp" in decision) return `${name} ${how}; ${decision.giveUp}: giving up`;
      out.warn(`${name} ${how}; restarting in ${seconds(decision.restartInMs)}`);
      const restart = (async () => {
        await sleep(decision.restartInMs, undefined, { signal }).catch(() => undefined);
        if (signal.aborted) return undefined;
        try {
          slot.app = await slot.start();
        } catch (error) {
          return `failed to start again (${String((error as Error).message).split("\n")[0]})`;
        }
        out.line(`${name} restarted ${out.c.dim(`(pid ${slot.app.pid})`)}`);
        await this.writeFleetFile().catch((error: unknown) =>
          out.warn(`gf up: could not update ${this.fleetFile}: ${(error as Error).message}`),
        );
        return undefined;
      })();
      this.restarts.add(restart);
      const failed = await restart.finally(() => this.restarts.delete(restart));
      if (signal.aborted) return undefined;
      how = failed ?? exitText(await slot.app.exited);
    }
  }

  /** Factories drain first, then the coordinator stops, then MongoDB. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  /** A second Ctrl-C: tell every process to stop at once (their own second-signal rule), then kill. */
  force(): void {
    if (this.forced) return;
    this.forced = true;
    this.abort.abort();
    for (const app of this.apps()) app.signal("SIGINT");
    setTimeout(() => {
      for (const app of this.apps()) app.signal("SIGKILL");
    }, GRACE_MS.forced).unref();
  }

  private apps(): ChildApp[] {
    return [...this.factories.map(({ app }) => app), this.coordinator?.app, this.mongo].filter(
      (app): app is ChildApp => app !== undefined,
    );
  }

  private async shutdown(): Promise<void> {
    const { out } = this.opts;
    this.abort.abort();
    // let a start in progress notice and settle, so nothing it starts is missed below
    await this.starting;
    await Promise.all([...this.restarts]);
    const steps: Array<[string, () => Promise<unknown>]> = [
      [
        "factories",
        async () => {
          const running = this.factories.filter(({ app }) => app.running);
          if (running.length) out.line(out.c.dim(`draining ${running.map(({ id }) => id).join(", ")}…`));
          await Promise.all(running.map(({ app }) => app.stop({ graceMs: GRACE_MS.factory })));
        },
      ],
      [
        "coordinator",
        async () => {
          if (this.coordinator?.app.running) out.line(out.c.dim("stopping the coordinator…"));
          await this.coordinator?.app.stop({ graceMs: GRACE_MS.coordinator });
        },
      ],
      [
        "mongodb",
        async () => {
          if (this.mongo?.running) out.line(out.c.dim("stopping MongoDB…"));
          await this.mongo?.stop({ graceMs: GRACE_MS.mongo });
        },
      ],
      ["fleet file", () => rm(this.fleetFile, { force: true })],
    ];
    for (const [name, step] of steps) {
      try {
        await step();
      } catch (error) {
        out.warn(`gf up: stopping ${name} failed: ${(error as Error).message}`);
      }
    }
  }
}

function label(out: Output, name: string): string {
  return out.c.bold(`${name.padEnd(12)}`);
}

function exitText({ code, signal }: ChildExit): string {
  return signal ? `exited (signal ${signal})` : `exited (code ${code})`;
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10}s`;
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@");
}

/** What fleet.json says about the launcher's choice (`mongoChoice`), for `gf status` and people. */
type MongoChoice = NonNullable<FleetFile["mongoChoice"]>;

/** The choice from the mongo host's ready line; an older host without it reports its backend only. */
function mongoChoiceOf(ready: Record<string, unknown>): MongoChoice {
  const backend = String(ready.backend ?? "unknown");
  const skipped = Array.isArray(ready.skipped) ? ready.skipped.map(String) : [];
  return { source: typeof ready.source === "string" ? ready.source : backend, backend, skipped };
}
