import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { constants, existsSync } from "node:fs";
import { access, cp, mkdir, mkdtemp, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { MongoStartError, OutputTail, onProcessExit, waitForExit } from "./process.js";
import type { MongoLauncherLogger } from "./types.js";

// Same relative position from src/*.ts and dist/*.js.
const packageDir = fileURLToPath(new URL("../", import.meta.url));

/** The Maven project of the stand-in, inside this package. */
export const standInSourceDir = join(packageDir, "stand-in");

/** Where built stand-ins are cached unless told otherwise (or not writable: see {@link standInCacheDir}). */
export const defaultStandInCacheDir = join(packageDir, "node_modules", ".cache", "gigafactory-stand-in");

/**
 * {@link defaultStandInCacheDir} when this package's folder is writable (a checkout, a user's own
 * install); else the user's cache (`$XDG_CACHE_HOME` or `~/.cache`, `gigafactory/stand-in`), for a
 * package installed globally by root and run by someone else.
 */
export async function standInCacheDir(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  try {
    await access(packageDir, constants.W_OK);
    return defaultStandInCacheDir;
  } catch {
    return join(env.XDG_CACHE_HOME?.trim() || join(homedir(), ".cache"), "gigafactory", "stand-in");
  }
}

const buildTimeoutMs = 10 * 60_000;
const cdsDumpTimeoutMs = 60_000;
const staleBuildMs = 60 * 60_000;
const inFlight = new Map<string, Promise<StandInBuild>>();

/** A built stand-in, ready for `java [flags] -jar <jar>`. */
export interface StandInBuild {
  /** `<cacheDir>/<hash>`. */
  dir: string;
  jar: string;
  /** Class-data-sharing archive, when one could be made; it cuts JVM start by a third. */
  cdsArchive: string | undefined;
}

export interface EnsureStandInOptions {
  cacheDir: string;
  javaBinary: string;
  /** JVM flags the stand-in will run with; the CDS archive is dumped with the same ones. */
  jvmFlags: readonly string[];
  logger: MongoLauncherLogger;
}

/**
 * Returns the cached build for the current stand-in sources, building it with
 * Maven first if needed. Safe against concurrent builders: each builds in its
 * own temp folder and renames it into place; the first rename wins.
 */
export function ensureStandInBuilt(opts: EnsureStandInOptions): Promise<StandInBuild> {
  const key = `${opts.cacheDir}\0${opts.javaBinary}`;
  let pending = inFlight.get(key);
  if (!pending) {
    pending = buildOnce(opts);
    inFlight.set(key, pending);
    // A failed build may succeed on a later call (e.g. network back).
    pending.catch(() => inFlight.delete(key));
  }
  return pending;
}

async function buildOnce(opts: EnsureStandInOptions): Promise<StandInBuild> {
  const hash = await hashSources(standInSourceDir);
  const dir = join(opts.cacheDir, hash);
  const jar = join(dir, "target", "stand-in.jar");
  if (!existsSync(jar)) await buildInto(dir, opts);
  const cdsArchive = await ensureCdsArchive(dir, jar, opts);
  return { dir, jar, cdsArchive };
}

/** First 16 hex chars of sha256 over pom.xml and every file under src/, in path order. */
export async function hashSources(sourceDir: string): Promise<string> {
  const hash = createHash("sha256");
  const files = (await readdir(join(sourceDir, "src"), { recursive: true, withFileTypes: true }))
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(sourceDir.length + 1))
    .sort();
  for (const rel of ["pom.xml", ...files]) {
    hash.update(`${rel}\0`);
    hash.update(await readFile(join(sourceDir, rel)));
    hash.update("\0");
  }
  return hash.digest("hex").slice(0, 16);
}

async function buildInto(dir: string, opts: EnsureStandInOptions): Promise<void> {
  await mkdir(opts.cacheDir, { recursive: true });
  await removeStaleBuilds(opts.cacheDir);
  const tmp = await mkdtemp(join(opts.cacheDir, ".build-"));
  const started = Date.now();
  opts.logger.info({ dir }, "building the MongoDB stand-in with Maven (first run only)");
  try {
    await cp(join(standInSourceDir, "pom.xml"), join(tmp, "pom.xml"));
    await cp(join(standInSourceDir, "src"), join(tmp, "src"), { recursive: true });
    await run("mvn", ["-q", "-B", "-Dstyle.color=never", "package"], {
      cwd: tmp,
      what: "mvn package (stand-in)",
      timeoutMs: buildTimeoutMs,
    });
    if (!existsSync(join(tmp, "target", "stand-in.jar"))) {
      throw new MongoStartError("mvn package succeeded but produced no target/stand-in.jar", "");
    }
    try {
      await rename(tmp, dir);
    } catch (err) {
      // Another process finished the same build first; its copy is as good as ours.
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "ENOTEMPTY" && code !== "EEXIST") throw err;
    }
    opts.logger.info({ dir, ms: Date.now() - started }, "built the MongoDB stand-in");
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Temp folders left by builders that were killed mid-build. */
async function removeStaleBuilds(cacheDir: string): Promise<void> {
  for (const name of await readdir(cacheDir)) {
    if (!name.startsWith(".build-")) continue;
    const path = join(cacheDir, name);
    const info = await stat(path).catch(() => undefined);
    if (info && Date.now() - info.mtimeMs > staleBuildMs) await rm(path, { recursive: true, force: true });
  }
}

/**
 * Dumps a dynamic CDS archive by starting the stand-in once with stdin closed
 * (it prints its ready line and exits). Done after the rename because JDK 17
 * archives record the jar's absolute path. Best effort: without it the JVM
 * just starts slower.
 */
async function ensureCdsArchive(dir: string, jar: string, opts: EnsureStandInOptions): Promise<string | undefined> {
  const archive = join(dir, "stand-in.jsa");
  if (existsSync(archive)) return archive;
  const tmp = `${archive}.${process.pid}.tmp`;
  try {
    await run(opts.javaBinary, [...opts.jvmFlags, `-XX:ArchiveClassesAtExit=${tmp}`, "-jar", jar], {
      cwd: dir,
      what: "stand-in CDS dump",
      timeoutMs: cdsDumpTimeoutMs,
    });
    if (!existsSync(tmp)) return undefined;
    await rename(tmp, archive);
    return archive;
  } catch (err) {
    opts.logger.debug({ err: String(err) }, "no CDS archive for the stand-in; it will start slower");
    await rm(tmp, { force: true });
    return undefined;
  }
}

/** Runs a command to completion; kills it after `timeoutMs` or when this process exits. */
function run(
  command: string,
  args: readonly string[],
  opts: { cwd: string; what: string; timeoutMs: number },
): Promise<void> {
  // stdin is /dev/null: the CDS dump relies on that EOF to exit right after starting.
  const child = spawn(command, args, { cwd: opts.cwd, stdio: ["ignore", "pipe", "pipe"] });
  const output = new OutputTail();
  output.attach(child.stdout);
  output.attach(child.stderr);
  const unregister = onProcessExit(() => child.kill("SIGKILL"));
  return new Promise<void>((resolve, reject) => {
    child.once("error", (err) => reject(new MongoStartError(`${opts.what}: ${err.message}`, output.toString())));
    child.once("exit", (code, signal) => {
      if (code === 0) resolve();
      else reject(new MongoStartError(`${opts.what} failed (code ${code}, signal ${signal})`, output.toString()));
    });
    void waitForExit(child, opts.timeoutMs).then((exited) => {
      if (!exited) child.kill("SIGKILL");
    });
  }).finally(unregister);
}
