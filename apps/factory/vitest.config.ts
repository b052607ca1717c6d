import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    // One MongoDB for the run; the integration tests in test/ start coordinators on it.
    globalSetup: ["test/support/mongo-global-setup.ts"],
    // Engine tests spawn real child processes and kill process groups; forks keep each
    // test file in its own process.
    pool: "forks",
    testTimeout: 60_000,
    // Starting the MongoDB stand-in (first run: a Maven build) and coordinators takes a while.
    hookTimeout: 120_000,
  },
});
