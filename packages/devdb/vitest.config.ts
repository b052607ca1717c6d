import { defineConfig } from "vitest/config";
import { mongoTestOptions } from "./src/testing.js";

// The launcher's own tests run on the MongoDB their global setup starts, like everyone else's.
export default defineConfig({ test: mongoTestOptions() });
