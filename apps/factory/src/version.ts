import { readFileSync } from "node:fs";

/** This factory's version, from its package.json (the root package.json is the one source; see scripts/versions.mjs). */
export const FACTORY_VERSION: string = (() => {
  try {
    // src/version.ts and dist/version.js both sit one folder below the package root
    const manifest = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
      version?: string;
    };
    return manifest.version ?? "0.0.0";
  } catch {
    return "0.0.0";
  }
})();
