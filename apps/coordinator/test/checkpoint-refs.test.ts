import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestClient, codeOf, rejection } from "./support/client.js";
import { Harness, claimOne, createJob, fenceOf, registerFactory } from "./support/harness.js";

/**
 * Issue 10: a factory-controlled `checkpoint.wipBase` reached `git diff` on the next factory's
 * host as an option (`--output=<path>` wrote a file). The coordinator takes commit ids only.
 */
describe("checkpoint refs from a factory", () => {
  let h: Harness;
  let factory: TestClient;
  let serial = 0;
  beforeAll(async () => {
    h = await Harness.start("checkpoint-refs");
    factory = await h.as("factory");
  });
  afterAll(() => h?.close());

  it.each([
    ["wipBase", { wipBranch: "gf/wip", wipBase: "--output=/tmp/x", wipCommit: "abcdef1" }],
    ["wipCommit", { wipBranch: "gf/wip", wipBase: "abcdef1", wipCommit: "--output=/tmp/x" }],
    ["wipBase", { wipBranch: "gf/wip", wipBase: "main", wipCommit: "abcdef1" }],
  ])("refuses a checkpoint whose %s is not a commit id (BAD_REQUEST) and stores nothing", async (_, checkpoint) => {
    const capability = `checkpoint-${++serial}`;
    const f = await registerFactory(factory, { capabilities: [capability] });
    const job = await createJob(await h.as("service"), { capabilities: [capability] });
    const claimed = await claimOne(factory, f);
    expect(claimed.job._id).toBe(job._id);
    const before = await h.counts();

    const checkpointed = await rejection(
      factory.trpc.factory.checkpoint.mutate({ ...fenceOf(claimed, f), checkpoint }),
    );
    expect(codeOf(checkpointed).code).toBe("BAD_REQUEST");
    const released = await rejection(
      factory.trpc.factory.release.mutate({ ...fenceOf(claimed, f), reason: "drain", checkpoint }),
    );
    expect(codeOf(released).code).toBe("BAD_REQUEST");

    expect(await h.counts()).toEqual(before);
    const stored = await h.db.collection("jobs").findOne({ _id: job._id as never });
    expect(stored?.checkpoint ?? null).toBeNull();
  });
});
