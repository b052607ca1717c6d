import { probeMongod, startMongod } from "./mongod.js";
import { redactUrl } from "./redact.js";
import { defaultStandInCacheDir } from "./stand-in-build.js";
import { startStandIn } from "./stand-in.js";
import type { MongoHandle, MongoLauncherLogger, StartMongoOptions } from "./types.js";

const silentLogger: MongoLauncherLogger = { info() {}, warn() {}, debug() {} };

/**
 * Returns a MongoDB to use, in this order: `opts.url` as is; a real `mongod`
 * (`opts.mongodBinary`, else `mongod` on PATH) started as a one-node replica
 * set; the in-memory Java stand-in. The handle's `backend` and `describe()`
 * say which one it is, and the choice is logged at info level.
 */
export async function startMongo(opts: StartMongoOptions = {}): Promise<MongoHandle> {
  const logger = opts.logger ?? silentLogger;
  const readyTimeoutMs = opts.readyTimeoutMs ?? 30_000;
  const choice = opts.backend ?? "auto";

  if (opts.url) {
    const handle = externalHandle(opts.url);
    logger.info({ backend: handle.backend, url: redactUrl(opts.url) }, `MongoDB: ${handle.describe()}`);
    return handle;
  }

  if (choice !== "stand-in") {
    const binary = opts.mongodBinary ?? "mongod";
    const version = await probeMongod(binary);
    if (version) {
      const handle = await startMongod({ binary, readyTimeoutMs, logger });
      logger.info({ backend: handle.backend, url: redactUrl(handle.url), version }, `MongoDB: ${handle.describe()}`);
      return handle;
    }
    // An explicit binary that does not run is a configuration error, not a cue to fall back.
    if (opts.mongodBinary !== undefined || choice === "mongod") {
      throw new Error(`mongod not usable: \`${binary} --version\` failed`);
    }
    logger.debug({ binary }, "no mongod found; using the Java stand-in");
  }

  const heapMb = opts.heapMb ?? 256;
  if (!Number.isInteger(heapMb) || heapMb < 16) throw new RangeError(`heapMb must be an integer >= 16, got ${heapMb}`);
  const handle = await startStandIn({
    cacheDir: opts.cacheDir ?? defaultStandInCacheDir,
    javaBinary: opts.javaBinary ?? "java",
    heapMb,
    readyTimeoutMs,
    logger,
  });
  // said plainly, every time: anyone on this host can read and write it
  logger.warn({ backend: handle.backend, url: handle.url, pid: handle.pid }, `MongoDB: ${handle.describe()}`);
  return handle;
}

/**
 * The launcher options that come from the environment: `GF_MONGO_URL`,
 * `GF_MONGOD_BINARY`, `GF_STAND_IN_HEAP` (MiB). For tests and small scripts;
 * apps map their own `env.ts` onto {@link StartMongoOptions} instead.
 */
export function mongoOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): StartMongoOptions {
  const heap = env.GF_STAND_IN_HEAP?.trim();
  const heapMatch = heap ? /^(\d+)m?$/i.exec(heap) : null;
  if (heap && !heapMatch) throw new RangeError(`GF_STAND_IN_HEAP must be MiB like 256 or 256m, got ${heap}`);
  return {
    url: env.GF_MONGO_URL?.trim() || undefined,
    mongodBinary: env.GF_MONGOD_BINARY?.trim() || undefined,
    heapMb: heapMatch?.[1] ? Number(heapMatch[1]) : undefined,
  };
}

function externalHandle(url: string): MongoHandle {
  const stop = async (): Promise<void> => {};
  return {
    url,
    backend: "external",
    pid: undefined,
    describe: () => `external ${redactUrl(url)}`,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
