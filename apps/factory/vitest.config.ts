import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    // Engine tests spawn real child processes and kill process groups; forks keep each
    // test file in its own process.
    pool: "forks",
    testTimeout: 60_000,
  },
});
