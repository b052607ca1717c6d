import { execFile, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { DryMongoBinary } from "mongodb-memory-server-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { MEMORY_SERVER_MONGOD_VERSION, startMongo } from "../src/index.js";
import { obtainMongod } from "../src/memory-server.js";

const run = promisify(execFile);
const quiet = { info() {}, warn() {}, debug() {} };

/**
 * A stand-in for MongoDB's download site on 127.0.0.1: serves the archive the test built for any
 * `*.tgz` path and its MD5 for `*.tgz.md5`, and records what was asked for.
 */
interface Mirror {
  url: string;
  requests: string[];
  /** What the `.md5` file says; a wrong one makes the download fail its check. */
  md5: string;
  close(): Promise<void>;
}

async function startMirror(archive: Buffer): Promise<Mirror> {
  const mirror = { requests: [] as string[], md5: createHash("md5").update(archive).digest("hex") };
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://mirror").pathname;
    mirror.requests.push(path);
    if (path.endsWith(".tgz")) {
      res.writeHead(200, { "content-type": "application/gzip", "content-length": archive.length });
      res.end(archive);
    } else if (path.endsWith(".tgz.md5")) res.end(`${mirror.md5}  ${path.split("/").pop()?.slice(0, -4)}\n`);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(mirror, {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

/** The MONGOMS_* variables a test sets, restored after each test (the library reads process.env). */
const MONGOMS = ["MONGOMS_DOWNLOAD_MIRROR", "MONGOMS_USE_HTTP", "MONGOMS_DOWNLOAD_DIR", "MONGOMS_RUNTIME_DOWNLOAD"];
const saved = Object.fromEntries(MONGOMS.map((key) => [key, process.env[key]]));
function useEnv(vars: Record<string, string>): void {
  for (const key of MONGOMS) delete process.env[key];
  Object.assign(process.env, vars);
}

function mongodOnPath(): boolean {
  try {
    execFileSync("mongod", ["--version"], { stdio: "ignore", timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

describe("the mongodb-memory-server step of the ladder, through a loopback mirror", () => {
  let work: string;
  let archive: Buffer;
  let argsFile: string;
  let mirror: Mirror;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "gf-mms-"));
    argsFile = join(work, "mongod-args.txt");
    // a MongoDB-shaped archive: <name>/bin/mongod, here a script that answers --version like
    // mongod and, started as a server, writes down its arguments and exits (no real mongod can be
    // fetched here; mongod-auth.test.ts covers a real mongod start where one is on PATH)
    const bin = join(work, "archive", `mongodb-test-${MEMORY_SERVER_MONGOD_VERSION}`, "bin");
    await mkdir(bin, { recursive: true });
    await writeFile(
      join(bin, "mongod"),
      [
        "#!/bin/sh",
        `if [ "$1" = "--version" ]; then echo "db version v${MEMORY_SERVER_MONGOD_VERSION}"; exit 0; fi`,
        `printf '%s\\n' "$@" > '${argsFile}'`,
        `echo "the test archive's mongod only answers --version" >&2`,
        "exit 3",
        // the library treats a binary under 1 MiB as a truncated download; sh never reads past exit
        `# ${"padding ".repeat(140_000)}`,
        "",
      ].join("\n"),
    );
    await chmod(join(bin, "mongod"), 0o755);
    await writeFile(join(bin, "README"), "not extracted: only bin/mongod is\n");
    await run("tar", ["-czf", join(work, "mongodb.tgz"), "-C", join(work, "archive"), "."]);
    archive = await readFile(join(work, "mongodb.tgz"));
    mirror = await startMirror(archive);
  });

  afterEach(() => {
    useEnv(Object.fromEntries(Object.entries(saved).filter((entry): entry is [string, string] => !!entry[1])));
    DryMongoBinary.binaryCache.clear();
  });

  afterAll(async () => {
    await mirror?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("downloads, checks the MD5, unpacks and caches mongod; later starts use the cache without network", async () => {
    const cache = join(work, "cache-ok");
    useEnv({ MONGOMS_DOWNLOAD_MIRROR: mirror.url, MONGOMS_USE_HTTP: "true", MONGOMS_DOWNLOAD_DIR: cache });
    mirror.requests.length = 0;
    const first = await obtainMongod({ networkProbeMs: 10_000, logger: quiet });
    expect(first).toMatchObject({ how: "downloaded", version: MEMORY_SERVER_MONGOD_VERSION });
    expect(first.binary?.startsWith(cache)).toBe(true);
    // the archive and then its checksum, both from the mirror
    expect(mirror.requests).toHaveLength(2);
    expect(mirror.requests[0]).toMatch(new RegExp(`-${MEMORY_SERVER_MONGOD_VERSION.replaceAll(".", "\\.")}\\.tgz$`));
    expect(mirror.requests[1]).toBe(`${mirror.requests[0]}.md5`);
    // only bin/mongod was unpacked, byte for byte, beside the checksum the library keeps
    const binary = first.binary as string;
    const { stdout } = await run(binary, ["--version"]);
    expect(stdout.trim()).toBe(`db version v${MEMORY_SERVER_MONGOD_VERSION}`);
    expect((await readdir(cache)).sort()).toEqual(
      [binary.slice(cache.length + 1), `${binary.slice(cache.length + 1)}.md5`].sort(),
    );

    // a new process (the in-memory map emptied), the mirror out of reach: the cached binary
    DryMongoBinary.binaryCache.clear();
    useEnv({ MONGOMS_DOWNLOAD_MIRROR: "http://127.0.0.1:9", MONGOMS_USE_HTTP: "true", MONGOMS_DOWNLOAD_DIR: cache });
    mirror.requests.length = 0;
    expect(await obtainMongod({ networkProbeMs: 10_000, logger: quiet })).toEqual({
      binary,
      how: "cached",
      version: MEMORY_SERVER_MONGOD_VERSION,
    });
    expect(mirror.requests).toEqual([]);
  });

  it("refuses an archive whose MD5 does not match, and caches nothing", async () => {
    const cache = join(work, "cache-bad-md5");
    useEnv({ MONGOMS_DOWNLOAD_MIRROR: mirror.url, MONGOMS_USE_HTTP: "true", MONGOMS_DOWNLOAD_DIR: cache });
    const good = mirror.md5;
    mirror.md5 = "0".repeat(32);
    try {
      const result = await obtainMongod({ networkProbeMs: 10_000, logger: quiet });
      expect(result.binary).toBeUndefined();
      expect("skipped" in result && result.skipped).toMatch(/^mongodb-memory-server: .*md5/i);
    } finally {
      mirror.md5 = good;
    }
    expect((await readdir(cache).catch(() => [])).filter((name) => name.startsWith("mongod-"))).toEqual([]);
  });

  it("with no network, skips at once with the reason (a closed port: refused)", async () => {
    const closed = await startMirror(archive);
    await closed.close();
    useEnv({ MONGOMS_DOWNLOAD_MIRROR: closed.url, MONGOMS_USE_HTTP: "true", MONGOMS_DOWNLOAD_DIR: join(work, "c3") });
    const result = await obtainMongod({ networkProbeMs: 10_000, logger: quiet });
    expect(result).toEqual({
      skipped: `mongodb-memory-server: cannot download mongod ${MEMORY_SERVER_MONGOD_VERSION}: cannot reach ${closed.url.slice(7)} (ECONNREFUSED; no network?)`,
    });
    expect(closed.requests).toEqual([]);
  });

  it("honours MONGOMS_RUNTIME_DOWNLOAD=false", async () => {
    useEnv({
      MONGOMS_DOWNLOAD_MIRROR: mirror.url,
      MONGOMS_RUNTIME_DOWNLOAD: "false",
      MONGOMS_DOWNLOAD_DIR: join(work, "c4"),
    });
    mirror.requests.length = 0;
    expect(await obtainMongod({ networkProbeMs: 10_000, logger: quiet })).toEqual({
      skipped: `mongodb-memory-server: no cached mongod ${MEMORY_SERVER_MONGOD_VERSION} and MONGOMS_RUNTIME_DOWNLOAD is off`,
    });
    expect(mirror.requests).toEqual([]);
  });

  it.skipIf(mongodOnPath())(
    "startMongo starts the downloaded mongod with the launcher's arguments, and says why it fell through to the stand-in",
    async () => {
      useEnv({ MONGOMS_DOWNLOAD_MIRROR: mirror.url, MONGOMS_USE_HTTP: "true", MONGOMS_DOWNLOAD_DIR: join(work, "c5") });
      await using mongo = await startMongo({ logger: quiet });
      expect(mongo.source).toBe("stand-in");
      expect(mongo.skipped).toEqual([
        "GF_MONGO_URL: not set",
        expect.stringMatching(/^mongod on PATH: none/),
        expect.stringMatching(/^mongodb-memory-server: \S+\/c5\/mongod-\S+ did not start: .*mongod exited \(code 3/),
      ]);
      // the cached binary really ran as the server, with the launcher's arguments
      const args = (await readFile(argsFile, "utf8")).split("\n");
      expect(args).toEqual(expect.arrayContaining(["--bind_ip", "127.0.0.1", "--replSet", "rs0", "--auth"]));
      expect(args[args.indexOf("--port") + 1]).toMatch(/^\d+$/);
    },
  );
});
