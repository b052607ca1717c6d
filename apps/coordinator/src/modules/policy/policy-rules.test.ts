import { type JobCreate, JobCreateInput, type Policy } from "@gigafactory/schema";
import { describe, expect, it } from "vitest";
import { applyRails, matchesPattern } from "./policy-rules.js";

const policy: Policy = {
  productId: "p",
  version: 3,
  updatedAt: new Date(0),
  engines: ["shell", "claude-code"],
  capabilities: ["os:linux", "gpu"],
  repos: ["https://git.example/acme/*"],
  maxTimeoutMs: 3_600_000,
  maxAttempts: 3,
  maxCostUsd: 5,
  gates: [
    { name: "tests", repos: ["https://git.example/acme/*"], labels: [], verify: ["pnpm test"] },
    { name: "security", repos: [], labels: ["security"], verify: ["make audit"] },
  ],
  autoEcho: false,
};

const job = (over: Partial<JobCreate> = {}): JobCreate => ({ ...JobCreateInput.parse({ bodyMd: "x" }), ...over });

describe("applyRails", () => {
  it("refuses a forbidden engine, repository, capability, timeout, attempts and cost, naming the rule", () => {
    const cases: Array<[Partial<JobCreate>, string]> = [
      [{ engine: "codex" }, "engines"],
      [{ capabilities: ["os:mac"] }, "capabilities"],
      [{ repo: "https://git.example/other/x" }, "repos"],
      [{ timeoutMs: 3_600_001 }, "maxTimeoutMs"],
      [{ maxAttempts: 4 }, "maxAttempts"],
      [{ manifest: { maxCostUsd: 6 } }, "maxCostUsd"],
    ];
    for (const [over, rule] of cases) {
      const decision = applyRails(policy, job(over), []);
      expect(decision.ok ? undefined : decision.refusal.rule).toBe(rule);
    }
  });

  it("adds the mandatory gates of matching repos and labels and records what applied", () => {
    const decision = applyRails(policy, job({ repo: "https://git.example/acme/app", verify: ["pnpm lint"] }), [
      "security",
    ]);
    expect(decision).toEqual({
      ok: true,
      verify: ["pnpm lint", "pnpm test", "make audit"],
      rails: {
        policyVersion: 3,
        checked: ["engines", "capabilities", "repos", "maxTimeoutMs", "maxAttempts", "maxCostUsd"],
        gates: ["tests", "security"],
      },
    });
  });

  it("adds no gate to a job that matches none", () => {
    const decision = applyRails(policy, job(), ["bug"]);
    expect(decision.ok && decision.verify).toEqual([]);
  });
});

describe("matchesPattern", () => {
  it("treats only * as a wildcard", () => {
    expect(matchesPattern("acme/*", "acme/app")).toBe(true);
    expect(matchesPattern("acme.app", "acmeXapp")).toBe(false);
    expect(matchesPattern("acme/app", "acme/app2")).toBe(false);
  });
});
