import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestClient, codeOf, rejection } from "./support/client.js";
import { Harness, claimOne, fenceOf, registerFactory } from "./support/harness.js";
import { ScriptedItems } from "./support/items-server.js";

const TOKEN = "items-token";
const PROMPT = "PROMPT-BODY: migrate the ledger, keep it quiet";

/** Seed 001's TESTS list, translated: the Items API round trip through `tracker.importItem` and `tracker.echo`. */
describe("the Items API tracker (seed 001)", () => {
  let api: ScriptedItems;
  let h: Harness;
  let service: TestClient;
  let factory: TestClient;
  beforeAll(async () => {
    api = await ScriptedItems.start(TOKEN);
    h = await Harness.start("tracker-items", { env: { GF_ITEMS_API_URL: api.url, GF_ITEMS_TOKEN: TOKEN } });
    service = await h.as("service");
    factory = await h.as("factory");
  });
  afterAll(async () => {
    await h?.close();
    await api?.close();
  });

  /** Each item's job needs a capability of its own, so a test's factory claims only its job. */
  const item = (id: string, labels: string[] = [], description = PROMPT) =>
    api.items.set(id, {
      id,
      title: `Item ${id}`,
      description,
      labels: labels.some((label) => label.startsWith("cap:")) ? labels : [...labels, "cap:items-idle"],
      status: "open",
      productId: "default",
    });

  it("from-tracker creates a job: tracker id, derived key, body = the item's description", async () => {
    item("T-1");
    const { job, created } = await service.trpc.tracker.importItem.mutate({ ref: "items:T-1" });
    expect(created).toBe(true);
    expect(job).toMatchObject({
      trackerItemId: "items:T-1",
      idempotencyKey: "tracker-items:T-1",
      bodyMd: PROMPT,
      title: "Item T-1",
    });
    expect(api.calls.every((call) => call.authorized)).toBe(true);
  });

  it("from-tracker label mapping: engine-class and priority come from the labels", async () => {
    item("T-2", ["engine-class:agentic-coder", "priority:high"]);
    const { job } = await service.trpc.tracker.importItem.mutate({ ref: "items:T-2" });
    expect(job).toMatchObject({ engineClass: "agentic-coder", priority: 10 });
  });

  it("from-tracker idempotent: importing T-1 twice leaves exactly one job", async () => {
    const again = await service.trpc.tracker.importItem.mutate({ ref: "items:T-1" });
    expect(again.created).toBe(false);
    expect(await h.db.collection("jobs").countDocuments({ trackerItemId: "items:T-1" })).toBe(1);
  });

  it("a missing item is a clear NOT_FOUND and creates nothing", async () => {
    const before = await h.counts();
    const error = await rejection(service.trpc.tracker.importItem.mutate({ ref: "items:T-404" }));
    expect(codeOf(error).code).toBe("NOT_FOUND");
    expect(error.message).toContain("items:T-404");
    expect(await h.counts()).toEqual(before);
  });

  it("to-tracker status echo: a shipped job PATCHes status=done and comments metrics, never the prompt", async () => {
    item("T-3", ["cap:items-ship"]);
    const { job } = await service.trpc.tracker.importItem.mutate({ ref: "items:T-3" });
    const f = await registerFactory(factory, { capabilities: ["items-ship"] });
    const claimed = await claimOne(factory, f);
    await factory.trpc.factory.complete.mutate({
      ...fenceOf(claimed, f),
      result: "success",
      insights: { tokensIn: 10, tokensOut: 20, costUsd: 0.5 },
    });
    const before = api.writes().length;
    expect(await service.trpc.tracker.echo.mutate({ jobId: job._id })).toMatchObject({ state: "done", sent: true });
    const writes = api.writes().slice(before);
    expect(writes.map((write) => `${write.method} ${write.path}`)).toEqual([
      "PATCH /items/T-3",
      "POST /items/T-3/comments",
    ]);
    expect(writes[0]?.body).toEqual({ status: "done" });
    const comment = (writes[1]?.body as { body: string } | undefined)?.body ?? "";
    expect(comment).toContain("result: success");
    expect(comment).toContain("tokens: 10 in, 20 out");
    expect(JSON.stringify(writes)).not.toContain("PROMPT-BODY");

    // to-tracker idempotent: unchanged outcome → no PATCH, no comment
    expect(await service.trpc.tracker.echo.mutate({ jobId: job._id })).toMatchObject({ sent: false });
    expect(api.writes().length).toBe(before + 2);
  });

  it("echo failure is non-fatal: a 500 is an error to the caller; the job's stage is unchanged", async () => {
    item("T-4", ["cap:items-500"]);
    const { job } = await service.trpc.tracker.importItem.mutate({ ref: "items:T-4" });
    await claimOne(factory, await registerFactory(factory, { capabilities: ["items-500"] }));
    const before = await service.trpc.jobs.get.query({ jobId: job._id });
    api.failNext(500);
    const error = await rejection(service.trpc.tracker.echo.mutate({ jobId: job._id }));
    expect(error.message).toContain("HTTP 500");
    const after = await service.trpc.jobs.get.query({ jobId: job._id });
    expect({ stage: after.stage, epoch: after.lease.epoch, echoed: after.trackerEchoed }).toEqual({
      stage: before.stage,
      epoch: before.lease.epoch,
      echoed: undefined,
    });
  });
});
