#!/usr/bin/env node
// The `gf` of the `gigafactory` package: the SDK's CLI, run from here so that the coordinator,
// the factory and the MongoDB launcher installed beside it are what `gf up` and `gf factory` start.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";

const sdk = dirname(createRequire(import.meta.url).resolve("@gigafactory/sdk/package.json"));
await import(pathToFileURL(join(sdk, "bin", "gf.mjs")).href);
