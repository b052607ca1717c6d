import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Transform } from "node:stream";

export class TooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`artifact is larger than ${limit} bytes`);
    this.name = "TooLargeError";
  }
}

/** Artifact bytes in a directory, addressed by sha-256 (same bytes, one file). */
export class BlobStore {
  constructor(private readonly dir: string) {}

  /** Streams `source` to disk, hashing as it goes; aborts past `maxBytes` and leaves nothing behind. */
  async put(source: Readable, maxBytes: number): Promise<{ sha256: string; size: number; uri: string }> {
    await mkdir(join(this.dir, "tmp"), { recursive: true });
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
      await pipeline(source, meter, createWriteStream(temp));
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    const sha256 = hash.digest("hex");
    const relative = join(sha256.slice(0, 2), sha256);
    await mkdir(join(this.dir, sha256.slice(0, 2)), { recursive: true });
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
}
