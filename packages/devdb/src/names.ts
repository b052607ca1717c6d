import { randomBytes } from "node:crypto";

// MongoDB limits database names to 63 bytes and forbids /\. "$*<>:|? and NUL.
const maxLabelLength = 40;

/**
 * A database name unique to this call, readable in logs: `gf_<label>_<time><random>`,
 * e.g. `databaseNameFor('claims.test.ts')` → `gf_claims_test_ts_m3k9x2a1b2c3`.
 * Use one per test file so files can run in parallel against one server.
 */
export function databaseNameFor(label: string): string {
  const cleaned =
    label
      .replace(/[^A-Za-z0-9_-]+/g, "_")
      .replace(/^_+|_+$/g, "")
      .slice(0, maxLabelLength) || "db";
  const suffix = `${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;
  return `gf_${cleaned}_${suffix}`;
}
