import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    globalSetup: ["test/support/mongo-global-setup.ts"],
    // Generous: the first run builds the MongoDB stand-in with Maven; CLI tests start real processes.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: "forks",
  },
});
