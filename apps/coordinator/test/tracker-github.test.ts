import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestClient, codeOf, rejection } from "./support/client.js";
import { ScriptedGitHub } from "./support/github-server.js";
import { Harness, claimOne, fenceOf, poll, registerFactory } from "./support/harness.js";

const PROMPT = "SECRET-PROMPT-TEXT: refactor the billing module and never tell anyone";

describe("the GitHub tracker against a server checked by GitHub's OpenAPI description", () => {
  let github: ScriptedGitHub;
  let h: Harness;
  let service: TestClient;
  let factory: TestClient;
  beforeAll(async () => {
    github = await ScriptedGitHub.start();
    h = await Harness.start("tracker-github", {
      env: { GF_GITHUB_API_URL: github.url, GF_GITHUB_TOKEN: "ghp_test", GF_TRACKER_EVERY: "100ms" },
    });
    service = await h.as("service");
    factory = await h.as("factory");
  });
  afterAll(async () => {
    await h?.close();
    await github?.close();
  });

  /** Runs an imported job to `result` through a factory of its own capability. */
  async function finish(capability: string, result: "success" | "failure") {
    const f = await registerFactory(factory, { capabilities: [capability] });
    const claimed = await claimOne(factory, f);
    await factory.trpc.factory.complete.mutate({
      ...fenceOf(claimed, f),
      result,
      insights: { tokensIn: 1200, tokensOut: 300, costUsd: 0.25 },
    });
    return claimed.job._id;
  }

  it("imports an issue: title and body verbatim, labels mapped, tracker id and key from the reference", async () => {
    github.issue("acme/app", 1, {
      title: "Fix the flaky build",
      body: `${PROMPT}\n\n- step one\n`,
      labels: ["gigafactory", "engine-class:agentic-coder", "priority:high", "cap:trk-a", "timeout:45m", "bug"],
    });
    const { job, created } = await service.trpc.tracker.importItem.mutate({ ref: "github:acme/app#1" });
    expect(created).toBe(true);
    expect(job).toMatchObject({
      title: "Fix the flaky build",
      bodyMd: `${PROMPT}\n\n- step one\n`,
      trackerItemId: "github:acme/app#1",
      idempotencyKey: "tracker-github:acme/app#1",
      engineClass: "agentic-coder",
      priority: 10,
      capabilities: ["trk-a"],
      timeoutMs: 45 * 60_000,
      stage: "inbox",
    });
    expect(github.calls("issues/get")).toHaveLength(1);
    expect(github.violations).toEqual([]);
  });

  it("importing the same issue again returns the same job and creates none", async () => {
    const before = await h.db.collection("jobs").countDocuments();
    const again = await service.trpc.tracker.importItem.mutate({ ref: "github:acme/app#1" });
    expect(again.created).toBe(false);
    expect(again.job.trackerItemId).toBe("github:acme/app#1");
    expect(await h.db.collection("jobs").countDocuments()).toBe(before);
  });

  it("jobs.create refuses a tracker reference it did not import, so no job can echo to a foreign issue", async () => {
    const before = await h.counts();
    const error = await rejection(
      service.trpc.jobs.create.mutate({ bodyMd: "x", trackerItemId: "github:victim/repo#1" }),
    );
    expect(codeOf(error).code).toBe("BAD_REQUEST");
    expect(error.message).toContain("tracker.importItem");
    expect(await h.counts()).toEqual(before);
  });

  it("a missing issue is NOT_FOUND with the reference named, and nothing is written", async () => {
    const before = await h.counts();
    const error = await rejection(service.trpc.tracker.importItem.mutate({ ref: "github:acme/app#404" }));
    expect(codeOf(error).code).toBe("NOT_FOUND");
    expect(error.message).toContain("github:acme/app#404");
    expect(await h.counts()).toEqual(before);
  });

  it("a label with a bad value is refused, naming the label, and nothing is written", async () => {
    github.issue("acme/app", 2, { title: "Bad", body: "x", labels: ["timeout:soon"] });
    const before = await h.counts();
    const error = await rejection(service.trpc.tracker.importItem.mutate({ ref: "github:acme/app#2" }));
    expect(codeOf(error).code).toBe("BAD_REQUEST");
    expect(error.message).toContain("timeout:soon");
    expect(await h.counts()).toEqual(before);
  });

  it("echoes a shipped job: done label and a metrics comment without the prompt; unchanged → nothing", async () => {
    github.issue("acme/app", 3, { title: "Echo me", body: PROMPT, labels: ["gigafactory", "cap:trk-echo"] });
    const { job } = await service.trpc.tracker.importItem.mutate({ ref: "github:acme/app#3" });
    await finish("trk-echo", "success");
    const echoed = await service.trpc.tracker.echo.mutate({ jobId: job._id });
    expect(echoed).toMatchObject({ state: "done", sent: true });
    expect(github.issues.get("acme/app#3")?.labels).toEqual(["gigafactory", "cap:trk-echo", "gigafactory:done"]);
    const comments = github.comments.filter((comment) => comment.issue === "acme/app#3");
    expect(comments).toHaveLength(1);
    const text = comments[0]?.body ?? "";
    expect(text).toContain("result: success");
    expect(text).toContain("tokens: 1200 in, 300 out");
    expect(text).toContain("cost: 0.2500 USD");
    expect(text).not.toContain("SECRET-PROMPT-TEXT");
    expect((await service.trpc.jobs.get.query({ jobId: job._id })).trackerEchoed).toBe("done");

    const writes = github.requests.length;
    expect(await service.trpc.tracker.echo.mutate({ jobId: job._id })).toMatchObject({ sent: false });
    expect(github.requests.length).toBe(writes);
    expect(github.violations).toEqual([]);
  });

  it("a 500 on echo is an error to the caller and leaves the job as it was", async () => {
    github.issue("acme/app", 4, { title: "Fails", body: "x", labels: ["cap:trk-500"] });
    const { job } = await service.trpc.tracker.importItem.mutate({ ref: "github:acme/app#4" });
    await claimOne(factory, await registerFactory(factory, { capabilities: ["trk-500"] }));
    const before = await service.trpc.jobs.get.query({ jobId: job._id });
    github.failNext("issues/add-labels", 500);
    const error = await rejection(service.trpc.tracker.echo.mutate({ jobId: job._id }));
    expect(error.message).toContain("echo failed");
    const after = await service.trpc.jobs.get.query({ jobId: job._id });
    expect(after.stage).toBe(before.stage);
    expect(after.trackerEchoed).toBeUndefined();
    // the next echo goes through: the job is being built
    expect(await service.trpc.tracker.echo.mutate({ jobId: job._id })).toMatchObject({
      state: "in_progress",
      sent: true,
    });
    expect(github.issues.get("acme/app#4")?.labels).toContain("gigafactory:in-progress");
  });

  it("with autoEcho on, the outbox echoes stage changes and retries after a 500 without touching the job", async () => {
    await h.admin.trpc.admin.setPolicy.mutate({ policy: { autoEcho: true } });
    github.issue("acme/app", 5, { title: "Auto", body: "x", labels: ["cap:trk-auto"] });
    const { job } = await service.trpc.tracker.importItem.mutate({ ref: "github:acme/app#5" });
    github.failNext("issues/list-labels-on-issue", 500, 1);
    await finish("trk-auto", "success");
    const shipped = await poll(
      async () => {
        const current = await service.trpc.jobs.get.query({ jobId: job._id });
        return current.trackerEchoed === "done" && current;
      },
      { tries: 600, what: "the outbox to echo done" },
    );
    expect(shipped.stage).toBe("shipped");
    expect(github.issues.get("acme/app#5")?.labels).toContain("gigafactory:done");
    const outbox = await h.db.collection("tracker_echoes").findOne({ _id: job._id as never });
    expect(outbox).toMatchObject({ echoed: "done", due: null });
    // the first try met the scripted 500 and a later one went through
    const reads = github.calls("issues/list-labels-on-issue").filter((call) => call.path.includes("/issues/5/"));
    expect(reads.length).toBeGreaterThanOrEqual(2);
    expect(github.violations).toEqual([]);
    await h.admin.trpc.admin.setPolicy.mutate({ policy: { autoEcho: false } });
  });
});
