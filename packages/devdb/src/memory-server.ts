import { connect } from "node:net";
import { arch, platform } from "node:os";
import { probeMongod } from "./mongod.js";
import type { MongoLauncherLogger } from "./types.js";

/**
 * The MongoDB version the launcher downloads through mongodb-memory-server (pinned, like the
 * package itself, so every machine runs the same server). `MONGOMS_VERSION` overrides it.
 */
export const MEMORY_SERVER_MONGOD_VERSION = "8.0.4";

export interface ObtainMongodOptions {
  /** How long the reachability check of the download host may take, in ms. */
  networkProbeMs: number;
  logger: MongoLauncherLogger;
}

/** A `mongod` from mongodb-memory-server's cache (downloaded now or before), or why there is none. */
export type ObtainedMongod =
  | { binary: string; version: string; how: "cached" | "downloaded" }
  | { binary?: undefined; skipped: string };

/**
 * A real `mongod` through mongodb-memory-server's download and cache, honouring its `MONGOMS_*`
 * variables (download dir, mirror or URL, version, MD5 check, `MONGOMS_RUNTIME_DOWNLOAD=false`).
 * A cached binary needs no network; otherwise the download host must answer a TCP connect within
 * `networkProbeMs`, so a machine without network falls through at once instead of retrying.
 * Never throws: what went wrong is the `skipped` reason.
 */
export async function obtainMongod(opts: ObtainMongodOptions): Promise<ObtainedMongod> {
  // the library reads its MONGOMS_* variables from process.env; so do we, to agree with it
  const env = process.env;
  const version = env.MONGOMS_VERSION?.trim() || MEMORY_SERVER_MONGOD_VERSION;
  try {
    // loaded only when this step runs: most starts end earlier (GF_MONGO_URL, a mongod on PATH)
    const { DryMongoBinary, MongoBinary } = await import("mongodb-memory-server-core");
    const { MongoBinaryDownloadUrl } = await import("mongodb-memory-server-core/lib/util/MongoBinaryDownloadUrl.js");
    const options = await DryMongoBinary.generateOptions({ version });
    const cached = await DryMongoBinary.locateBinary(options);
    if (cached) {
      if (!(await probeMongod(cached)))
        return { skipped: `mongodb-memory-server: the cached ${cached} does not run (\`--version\` failed)` };
      return { binary: cached, version, how: "cached" };
    }
    if (/^(false|0|no|off)$/i.test(env.MONGOMS_RUNTIME_DOWNLOAD?.trim() ?? "")) {
      return { skipped: `mongodb-memory-server: no cached mongod ${version} and MONGOMS_RUNTIME_DOWNLOAD is off` };
    }
    const url = await new MongoBinaryDownloadUrl({
      version,
      platform: options.platform || platform(),
      arch: options.arch || arch(),
      os: options.os,
    }).getDownloadUrl();
    const unreachable = await unreachableReason(new URL(url), opts.networkProbeMs);
    if (unreachable) return { skipped: `mongodb-memory-server: cannot download mongod ${version}: ${unreachable}` };
    opts.logger.info(
      { version, downloadDir: options.downloadDir },
      `MongoDB: downloading mongod ${version} once through mongodb-memory-server (cached in ${options.downloadDir})`,
    );
    const binary = await MongoBinary.download({ ...options, checkMD5: md5Check(env) });
    if (!(await probeMongod(binary)))
      return { skipped: `mongodb-memory-server: the downloaded ${binary} does not run (\`--version\` failed)` };
    return { binary, version, how: "downloaded" };
  } catch (error) {
    return { skipped: `mongodb-memory-server: ${firstLine(error)}` };
  }
}

/** The library checks the archive's MD5 unless `MONGOMS_MD5_CHECK` says no; so do we. */
function md5Check(env: Readonly<Record<string, string | undefined>>): boolean {
  return !/^(false|0|no|off)$/i.test(env.MONGOMS_MD5_CHECK?.trim() ?? "");
}

/** Undefined when `url`'s host accepts a TCP connection within `timeoutMs`; else why not. */
function unreachableReason(url: URL, timeoutMs: number): Promise<string | undefined> {
  const port = Number(url.port || (url.protocol === "http:" ? 80 : 443));
  const where = `${url.hostname}:${port}`;
  return new Promise((resolve) => {
    const socket = connect({ host: url.hostname, port });
    const done = (reason: string | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(reason);
    };
    const timer = setTimeout(() => done(`no answer from ${where} within ${timeoutMs} ms (no network?)`), timeoutMs);
    socket.once("connect", () => done(undefined));
    socket.once("error", (error: NodeJS.ErrnoException) =>
      done(`cannot reach ${where} (${error.code ?? error.message}; no network?)`),
    );
  });
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n")[0] ?? message;
}
