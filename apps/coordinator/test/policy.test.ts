import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestClient, codeOf, rejection } from "./support/client.js";
import { ScriptedGitHub } from "./support/github-server.js";
import { Harness, claimOne, createJob, registerFactory } from "./support/harness.js";

describe("guard rails and quality rails (admin.setPolicy)", () => {
  let github: ScriptedGitHub;
  let h: Harness;
  let service: TestClient;
  let factory: TestClient;
  beforeAll(async () => {
    github = await ScriptedGitHub.start();
    h = await Harness.start("policy", { env: { GF_GITHUB_API_URL: github.url } });
    service = await h.as("service");
    factory = await h.as("factory");
    await h.admin.trpc.admin.setPolicy.mutate({
      policy: {
        engines: ["shell"],
        repos: ["https://git.example/acme/*"],
        maxTimeoutMs: 3_600_000,
        gates: [
          { name: "unit-tests", repos: ["https://git.example/acme/*"], verify: ["test -f package.json"] },
          { name: "security-review", labels: ["security"], verify: ["true # audit"] },
        ],
      },
    });
  });
  afterAll(async () => {
    await h?.close();
    await github?.close();
  });

  it("shows the stored policy with its version", async () => {
    const policy = await h.admin.trpc.admin.policy.query({});
    expect(policy).toMatchObject({ productId: "default", version: 1, engines: ["shell"], autoEcho: false });
  });

  it("refuses a forbidden engine, repository or timeout at create, naming the rule, writing nothing", async () => {
    const before = await h.counts();
    const cases = [
      [{ engine: "codex" }, "engines"],
      [{ repo: "https://git.example/evil/app" }, "repos"],
      [{ timeoutMs: 3_600_001 }, "maxTimeoutMs"],
    ] as const;
    for (const [input, rule] of cases) {
      const error = await rejection(service.trpc.jobs.create.mutate({ bodyMd: "echo hi\n", ...input }));
      expect(codeOf(error).code).toBe("FORBIDDEN");
      expect(error.message).toContain(`policy rule ${rule}`);
    }
    expect(await h.counts()).toEqual(before);
  });

  it("refuses an import outside the rails the same way, writing nothing", async () => {
    github.issue("acme/app", 1, { title: "Too long", body: "x", labels: ["timeout:2h"] });
    const before = await h.counts();
    const error = await rejection(service.trpc.tracker.importItem.mutate({ ref: "github:acme/app#1" }));
    expect(error.message).toContain("policy rule maxTimeoutMs");
    expect(await h.counts()).toEqual(before);
  });

  it("adds the mandatory gates of a matching repo and label, records the rails, and hands them to the factory", async () => {
    const job = await createJob(service, {
      repo: "https://git.example/acme/app",
      verify: ["echo own"],
      capabilities: ["policy-gates"],
    });
    expect(job.verify).toEqual(["echo own", "test -f package.json"]);
    expect(job.rails).toEqual({
      policyVersion: 1,
      checked: ["engines", "repos", "maxTimeoutMs"],
      gates: ["unit-tests"],
    });

    github.issue("acme/app", 2, { title: "Audit", body: "x", labels: ["security", "cap:policy-label"] });
    const { job: imported } = await service.trpc.tracker.importItem.mutate({ ref: "github:acme/app#2" });
    expect(imported.verify).toEqual(["true # audit"]);
    expect(imported.rails?.gates).toEqual(["security-review"]);

    const claimed = await claimOne(factory, await registerFactory(factory, { capabilities: ["policy-gates"] }));
    expect(claimed.job.verify).toContain("test -f package.json");
  });

  it("refuses a policy with a bad field and keeps the one before", async () => {
    const error = await rejection(h.admin.trpc.admin.setPolicy.mutate({ policy: { maxTimeoutMs: -1 } as never }));
    expect(codeOf(error).code).toBe("BAD_REQUEST");
    expect((await h.admin.trpc.admin.policy.query({}))?.version).toBe(1);
  });

  it("is for admins only", async () => {
    const error = await rejection(service.trpc.admin.setPolicy.mutate({ policy: {} }));
    expect(codeOf(error).code).toBe("FORBIDDEN");
  });
});
