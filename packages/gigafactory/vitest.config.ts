import { defineConfig } from "vitest/config";

// One test: pack, install into an empty prefix (npm, then a first stand-in build), run a fleet.
export default defineConfig({ test: { testTimeout: 600_000, hookTimeout: 600_000 } });
