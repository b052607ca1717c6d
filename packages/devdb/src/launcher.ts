import { obtainMongod } from "./memory-server.js";
import { probeMongod, startMongod } from "./mongod.js";
import { redactUrl } from "./redact.js";
import { standInCacheDir } from "./stand-in-build.js";
import { startStandIn } from "./stand-in.js";
import type { MongoHandle, MongoLauncherLogger, MongoSource, StartMongoOptions } from "./types.js";

const silentLogger: MongoLauncherLogger = { info() {}, warn() {}, debug() {} };

/**
 * Returns a MongoDB to use, trying in this order and saying why each earlier step was skipped
 * (the handle's `source` and `skipped`, and the log line): `opts.url` as is; a real `mongod`
 * (`opts.mongodBinary`, else `mongod` on PATH) started as a one-node replica set; a `mongod` from
 * mongodb-memory-server's cache, downloaded once when there is network, started the same way; the
 * in-memory Java stand-in.
 */
export async function startMongo(opts: StartMongoOptions = {}): Promise<MongoHandle> {
  const logger = opts.logger ?? silentLogger;
  const readyTimeoutMs = opts.readyTimeoutMs ?? 30_000;
  const choice = opts.backend ?? "auto";
  const skipped: string[] = [];

  if (opts.url) {
    const handle = chosen(externalHandle(opts.url), "url", skipped);
    logger.info({ backend: handle.backend, source: "url", url: redactUrl(opts.url) }, `MongoDB: ${handle.describe()}`);
    return handle;
  }
  skipped.push("GF_MONGO_URL: not set");

  if (choice !== "stand-in") {
    const binary = opts.mongodBinary ?? "mongod";
    const source: MongoSource = opts.mongodBinary === undefined ? "path" : "mongod-binary";
    const version = await probeMongod(binary);
    if (version) {
      const handle = chosen(await startMongod({ binary, readyTimeoutMs, logger }), source, skipped);
      logger.info(
        { backend: handle.backend, source, url: redactUrl(handle.url), version },
        `MongoDB: ${handle.describe()}`,
      );
      return handle;
    }
    // An explicit binary that does not run is a configuration error, not a cue to fall back.
    if (opts.mongodBinary !== undefined || choice === "mongod") {
      throw new Error(`mongod not usable: \`${binary} --version\` failed`);
    }
    skipped.push("mongod on PATH: none (`mongod --version` failed; GF_MONGOD_BINARY names one elsewhere)");

    if (opts.download === false) skipped.push("mongodb-memory-server: download disabled");
    else {
      const obtained = await obtainMongod({
        networkProbeMs: opts.downloadProbeMs ?? 3_000,
        logger,
      });
      if (obtained.binary === undefined) skipped.push(obtained.skipped);
      else {
        try {
          const handle = chosen(
            await startMongod({ binary: obtained.binary, readyTimeoutMs, logger }),
            "mongodb-memory-server",
            skipped,
          );
          logger.info(
            { backend: handle.backend, source: "mongodb-memory-server", version: obtained.version, how: obtained.how },
            `MongoDB: ${handle.describe()} (mongodb-memory-server, ${obtained.how})`,
          );
          return handle;
        } catch (error) {
          const message = (error instanceof Error ? error.message : String(error)).split("\n")[0];
          skipped.push(`mongodb-memory-server: ${obtained.binary} did not start: ${message}`);
        }
      }
    }
  }

  const heapMb = opts.heapMb ?? 256;
  if (!Number.isInteger(heapMb) || heapMb < 16) throw new RangeError(`heapMb must be an integer >= 16, got ${heapMb}`);
  const handle = chosen(
    await startStandIn({
      cacheDir: opts.cacheDir ?? (await standInCacheDir()),
      javaBinary: opts.javaBinary ?? "java",
      heapMb,
      readyTimeoutMs,
      logger,
    }),
    "stand-in",
    skipped,
  );
  // said plainly, every time: anyone on this host can read and write it
  logger.warn(
    { backend: handle.backend, source: "stand-in", url: handle.url, pid: handle.pid, skipped },
    `MongoDB: ${handle.describe()}`,
  );
  return handle;
}

/** The handle, marked with the ladder step that gave it and why the earlier steps were skipped. */
function chosen(handle: MongoHandle, source: MongoSource, skipped: string[]): MongoHandle {
  return { ...handle, source, skipped: [...skipped] };
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
