import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { chmod, mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Transform } from "node:stream";
import type { Logger } from "../../logger.js";
import { PeriodicTask } from "../../periodic-task.js";

/** Blobs and temp files are readable by the coordinator's user only; so are their directories. */
export const BLOB_FILE_MODE = 0o600;
export const BLOB_DIR_MODE = 0o700;

export class TooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`artifact is larger than ${limit} bytes`);
    this.name = "TooLargeError";
  }
}

/** What one {@link BlobStore.sweep} removed. */
export interface SweepResult {
  temps: number;
  orphans: number;
}

/** When files count as abandoned (`blobs` in options.ts). */
export interface SweepAges {
  /** A temp file last written longer ago than this is an upload that died. */
  tempMaxAgeMs: number;
  /** A blob no artifact points to is removed once it is older than this (an upload may be storing its artifact). */
  orphanGraceMs: number;
}

const SHARD = /^[0-9a-f]{2}$/;
const SHA256 = /^[0-9a-f]{64}$/;

/**
 * Artifact bytes in a directory, addressed by sha-256 (same bytes, one file): `<dir>/<2 hex>/<sha>`,
 * uploads in progress in `<dir>/tmp`. Files are 0600 and directories 0700.
 */
export class BlobStore {
  constructor(private readonly dir: string) {}

  /** Streams `source` to disk, hashing as it goes; aborts past `maxBytes` and leaves nothing behind. */
  async put(source: Readable, maxBytes: number): Promise<{ sha256: string; size: number; uri: string }> {
    await this.ensureDir(this.dir);
    await this.ensureDir(join(this.dir, "tmp"));
    const temp = join(this.dir, "tmp", randomBytes(12).toString("hex"));
    const hash = createHash("sha256");
    let size = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        size += chunk.length;
        if (size > maxBytes) return done(new TooLargeError(maxBytes));
        hash.update(chunk);
        done(null, chunk);
      },
    });
    try {
      await pipeline(source, meter, createWriteStream(temp, { mode: BLOB_FILE_MODE }));
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    const sha256 = hash.digest("hex");
    const relative = join(sha256.slice(0, 2), sha256);
    await this.ensureDir(join(this.dir, sha256.slice(0, 2)));
    await rename(temp, join(this.dir, relative));
    return { sha256, size, uri: `blob:${relative}` };
  }

  async open(uri: string): Promise<{ stream: Readable; size: number }> {
    const relative = uri.replace(/^blob:/, "");
    if (relative.includes("..")) throw new Error(`bad blob uri ${uri}`);
    const path = join(this.dir, relative);
    const { size } = await stat(path);
    return { stream: createReadStream(path), size };
  }

  /**
   * Removes temp files older than `tempMaxAgeMs` and blobs older than `orphanGraceMs` that no
   * artifact points to (`referenced` answers which of the given uris some artifact has). A blob
   * written again meanwhile (same bytes uploaded anew) has a new mtime and is kept.
   */
  async sweep(
    ages: SweepAges,
    referenced: (uris: string[]) => Promise<Set<string>>,
    now = new Date(),
  ): Promise<SweepResult> {
    const result: SweepResult = { temps: 0, orphans: 0 };
    for (const name of await entries(join(this.dir, "tmp"))) {
      const path = join(this.dir, "tmp", name);
      const mtime = await mtimeOf(path);
      if (mtime !== undefined && now.getTime() - mtime > ages.tempMaxAgeMs && (await remove(path))) result.temps++;
    }
    for (const shard of (await entries(this.dir)).filter((name) => SHARD.test(name))) {
      const old = new Map<string, number>(); // uri → mtime read
      for (const name of (await entries(join(this.dir, shard))).filter((each) => SHA256.test(each))) {
        const mtime = await mtimeOf(join(this.dir, shard, name));
        if (mtime !== undefined && now.getTime() - mtime > ages.orphanGraceMs) old.set(`blob:${shard}/${name}`, mtime);
      }
      if (old.size === 0) continue;
      const kept = await referenced([...old.keys()]);
      for (const [uri, mtime] of old) {
        if (kept.has(uri)) continue;
        const path = join(this.dir, uri.slice("blob:".length));
        // uploaded again since it was read: an artifact may be about to point to it
        if ((await mtimeOf(path)) !== mtime) continue;
        if (await remove(path)) result.orphans++;
      }
    }
    return result;
  }

  private async ensureDir(path: string): Promise<void> {
    await mkdir(path, { recursive: true, mode: BLOB_DIR_MODE });
    // one made by an older version (0755) is narrowed too
    await chmod(path, BLOB_DIR_MODE);
  }
}

/**
 * Runs {@link BlobStore.sweep} every `everyMs` (`blobs.sweepEveryMs` in options.ts); one sweep at a
 * time, a failed one logged and retried at the next tick.
 */
export class BlobSweeper {
  private readonly task: PeriodicTask;

  constructor(
    private readonly deps: {
      blobs: BlobStore;
      referenced: (uris: string[]) => Promise<Set<string>>;
      ages: SweepAges;
      everyMs: number;
      logger: Logger;
    },
  ) {
    this.task = new PeriodicTask({
      everyMs: deps.everyMs,
      run: () => this.sweepOnce(),
      logger: deps.logger,
      failure: "blob sweep failed",
    });
  }

  start(): void {
    this.task.start();
  }

  close(): Promise<void> {
    return this.task.close();
  }

  private async sweepOnce(): Promise<void> {
    const { temps, orphans } = await this.deps.blobs.sweep(this.deps.ages, this.deps.referenced);
    if (temps || orphans) this.deps.logger.info({ temps, orphans }, "removed abandoned blobs");
  }
}

async function entries(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
}

async function mtimeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).mtimeMs;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

async function remove(path: string): Promise<boolean> {
  try {
    await rm(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw error;
  }
}
