import { mongoTestOptions } from "@gigafactory/devdb/testing";
import { defineConfig } from "vitest/config";

// end-to-end tests start a coordinator, a factory and Chromium: longer timeouts
export default defineConfig({ test: mongoTestOptions({ testTimeout: 120_000, hookTimeout: 180_000 }) });
