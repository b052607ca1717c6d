import { defineConfig } from "vitest/config";
import { mongoTestOptions } from "@gigafactory/devdb/testing";

// CLI tests start real processes (a coordinator and a factory): longer timeouts.
export default defineConfig({ test: mongoTestOptions({ testTimeout: 120_000, hookTimeout: 180_000 }) });
