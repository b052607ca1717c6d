#!/usr/bin/env node
// Every repository path a document names in backticks (apps/…, packages/…, scripts/…) must exist,
// so ARCHITECTURE.md's "where is X" table and the READMEs cannot drift from the tree. Part of `pnpm lint`.
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const docs = ["README.md", "ARCHITECTURE.md"];
for (const group of ["apps", "packages", "bench"]) {
  for (const entry of readdirSync(join(root, group), { withFileTypes: true })) {
    if (entry.isDirectory() && existsSync(join(root, group, entry.name, "README.md"))) {
      docs.push(join(group, entry.name, "README.md"));
    }
  }
}
let missing = 0;
for (const doc of docs) {
  const text = readFileSync(join(root, doc), "utf8");
  for (const [, path] of text.matchAll(/`((?:apps|packages|scripts|examples|bench)\/[\w./@-]+?)\/?`/g)) {
    if (!existsSync(join(root, path))) {
      console.error(`${doc}: names ${path}, which does not exist`);
      missing++;
    }
  }
  // a package's README names its own files relative to the package
  const base = dirname(join(root, doc));
  if (base === root) continue;
  for (const [, path] of text.matchAll(/`((?:src|test|bench|stand-in)\/[\w./@-]+?)\/?`/g)) {
    if (!existsSync(join(base, path))) {
      console.error(`${doc}: names ${path}, which does not exist`);
      missing++;
    }
  }
}
if (missing) process.exit(1);
