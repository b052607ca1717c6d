import { defineConfig } from "vitest/config";
import { mongoTestOptions } from "@gigafactory/devdb/testing";

// One MongoDB for the run; the integration tests in test/ start coordinators on it. Engine tests
// spawn real child processes and kill process groups: forks keep each test file in its own process.
export default defineConfig({ test: mongoTestOptions() });
