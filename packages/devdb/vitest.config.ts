import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    globalSetup: ["test/support/mongo-global-setup.ts"],
    // Generous: the first run builds the MongoDB stand-in with Maven.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
  },
});
