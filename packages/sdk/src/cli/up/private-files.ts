import { chmod, mkdir, writeFile } from "node:fs/promises";

/**
 * gf's own folders (the fleet directory, logs, factory work dirs) are 0700 and its files
 * (fleet.json, token files) 0600, also when they existed before with looser modes: `mkdir` and
 * `writeFile` apply a mode only to what they create.
 */
export async function privateDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o700 });
  await chmod(path, 0o700);
}

/** Writes `path` readable and writable by its owner only (0600), whatever its mode was. */
export async function writePrivateFile(path: string, data: string): Promise<void> {
  await writeFile(path, data, { mode: 0o600 });
  await chmod(path, 0o600);
}
