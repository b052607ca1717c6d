#!/usr/bin/env node
// Committed entry of the `gf-coordinator` bin: package managers link bins at install time, before any build,
// so the bin is this small file that loads the built code (or says how to build it).
import { existsSync } from "node:fs";

const main = new URL("../dist/main.js", import.meta.url);
if (!existsSync(main)) {
  process.stderr.write(
    "gf-coordinator: @gigafactory/coordinator is not built yet: run `pnpm build` first (in the Gigafactory repository)\n",
  );
  process.exit(1);
}
await import(main.href);
