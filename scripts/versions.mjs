#!/usr/bin/env node
// One version source: the root package.json. `node scripts/versions.mjs set 0.2.0` writes it into
// every workspace package; `node scripts/versions.mjs check` (part of `pnpm lint`) fails when one differs.
// Code reads its version from its own package.json at run time, never from a literal.
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const read = (file) => JSON.parse(readFileSync(file, "utf8"));
const rootVersion = read(join(root, "package.json")).version;
const manifests = ["apps", "packages", "bench"].flatMap((group) =>
  readdirSync(join(root, group), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => join(root, group, entry.name, "package.json")),
);

const [command, next] = process.argv.slice(2);
if (command === "set" && /^\d+\.\d+\.\d+(-[\w.]+)?$/.test(next ?? "")) {
  for (const file of [join(root, "package.json"), ...manifests]) {
    const manifest = read(file);
    manifest.version = next;
    writeFileSync(file, `${JSON.stringify(manifest, null, 2)}\n`);
  }
  console.log(`version ${next} written to ${manifests.length + 1} manifests`);
} else if (command === "check") {
  const wrong = manifests.filter((file) => read(file).version !== rootVersion);
  for (const file of wrong) console.error(`${file}: version ${read(file).version}, root says ${rootVersion}`);
  if (wrong.length) process.exit(1);
} else {
  console.error("usage: node scripts/versions.mjs check | set <x.y.z>");
  process.exit(2);
}
