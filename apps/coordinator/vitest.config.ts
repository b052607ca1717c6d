import { defineConfig } from "vitest/config";
import { mongoTestOptions } from "@gigafactory/devdb/testing";

// One MongoDB for the run (test/support/mongo-global-setup.ts), one database per test file.
export default defineConfig({ test: mongoTestOptions() });
