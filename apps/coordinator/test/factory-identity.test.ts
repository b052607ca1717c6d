import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestClient, codeOf, rejection } from "./support/client.js";
import { Harness, claimOne, createJob, fenceOf, registerFactory } from "./support/harness.js";

const idle = { load: { running: 0, jobIds: [] }, health: { ok: true } };

/** A factory token is bound to the factory it registered; a second token of the product cannot act as it. */
describe("factory identity", () => {
  let h: Harness;
  let service: TestClient;
  let owner: TestClient;
  let intruder: TestClient;
  beforeAll(async () => {
    h = await Harness.start("factory-identity");
    service = await h.as("service");
    owner = await h.as("factory");
    intruder = await h.as("factory");
  });
  afterAll(() => h?.close());

  const forbidden = async (call: Promise<unknown>) => expect(codeOf(await rejection(call)).code).toBe("FORBIDDEN");
  const stored = async (factoryId: string) => h.db.collection("factories").findOne({ factoryId });

  it("refuses a second token at every step: register, heartbeat, claim, connect, and every job write", async () => {
    const f = await registerFactory(owner, { capabilities: ["identity-1"] });
    const before = await stored(f);
    await forbidden(registerFactory(intruder, { factoryId: f, capabilities: ["identity-1"] }));
    await forbidden(intruder.trpc.factory.heartbeat.mutate({ factoryId: f, ...idle }));
    const job = await createJob(service, { capabilities: ["identity-1"] });
    await forbidden(intruder.trpc.factory.claim.mutate({ factoryId: f }));
    expect((await h.db.collection("jobs").findOne({ _id: job._id as never }))?.stage).toBe("inbox");

    // the owner claims it; the intruder, who can read nothing, still cannot write as the holder
    const claimed = await claimOne(owner, f);
    const fence = fenceOf(claimed, f);
    await forbidden(intruder.trpc.factory.renew.mutate(fence));
    await forbidden(intruder.trpc.factory.advance.mutate({ ...fence, to: "testing" }));
    await forbidden(intruder.trpc.factory.appendEvents.mutate({ ...fence, events: [{ type: "log", data: {} }] }));
    await forbidden(
      intruder.trpc.factory.checkpoint.mutate({
        ...fence,
        checkpoint: { wipBranch: "wip/spoof", wipBase: "0a1b2c3", wipCommit: "abcdef1" },
      }),
    );
    await forbidden(intruder.trpc.factory.complete.mutate({ ...fence, result: "success" }));
    await forbidden(intruder.trpc.factory.release.mutate({ ...fence, reason: "spoof" }));
    const upload = await fetch(
      `${h.url}/artifacts?jobId=${fence.jobId}&epoch=${fence.epoch}&factoryId=${f}&runId=${claimed.runId}&name=log.txt`,
      { method: "PUT", headers: { authorization: `Bearer ${intruder.token}` }, body: "spoofed" },
    );
    expect(upload.status).toBe(403);
    const stream = new Promise<string | undefined>((resolve) => {
      const sub = intruder.trpc.factory.connect.subscribe(
        { factoryId: f },
        {
          onData: () => resolve("data"),
          onError: (error) => {
            resolve((error.data as { code?: string } | undefined)?.code);
            sub.unsubscribe();
          },
        },
      );
    });
    expect(await stream).toBe("FORBIDDEN");

    const after = await stored(f);
    expect(after).toMatchObject({ tokenId: before?.tokenId, capabilities: ["identity-1"] });
    expect((await h.db.collection("jobs").findOne({ _id: job._id as never }))?.stage).toBe("building");
    // the owner still acts as it
    expect((await owner.trpc.factory.complete.mutate({ ...fence, result: "success" })).stage).toBe("shipped");
  });

  it("an admin drain survives the owner's heartbeats and the intruder's register", async () => {
    const f = await registerFactory(owner, { capabilities: ["identity-2"] });
    await h.admin.trpc.admin.drain.mutate({ factoryId: f });
    await forbidden(registerFactory(intruder, { factoryId: f, capabilities: ["identity-2"] }));
    await forbidden(intruder.trpc.factory.heartbeat.mutate({ factoryId: f, ...idle }));
    expect((await owner.trpc.factory.heartbeat.mutate({ factoryId: f, ...idle })).state).toBe("draining");
    expect((await stored(f))?.state).toBe("draining");
    await createJob(service, { capabilities: ["identity-2"] });
    expect((await owner.trpc.factory.claim.mutate({ factoryId: f })).jobs).toEqual([]);
  });

  it("revokeFactory stops the owner's token acting as it; another token may register the id anew", async () => {
    const f = await registerFactory(owner, { capabilities: ["identity-3"] });
    const revoked = await h.admin.trpc.admin.revokeFactory.mutate({ factoryId: f });
    expect(revoked.state).toBe("gone");
    await forbidden(owner.trpc.factory.heartbeat.mutate({ factoryId: f, ...idle }));
    await createJob(service, { capabilities: ["identity-3"] });
    await forbidden(owner.trpc.factory.claim.mutate({ factoryId: f }));
    await forbidden(registerFactory(owner, { factoryId: f, capabilities: ["identity-3"] }));
    expect((await stored(f))?.state).toBe("gone");

    const successor = await h.as("factory");
    await registerFactory(successor, { factoryId: f, capabilities: ["identity-3"] });
    await forbidden(owner.trpc.factory.heartbeat.mutate({ factoryId: f, ...idle }));
    expect((await successor.trpc.factory.claim.mutate({ factoryId: f })).jobs).toHaveLength(1);
  });

  it("a revoked token's factory may be registered by a new token", async () => {
    const first = await h.as("factory");
    const f = await registerFactory(first, { capabilities: ["identity-4"] });
    const tokenId = (await stored(f))?.tokenId as string;
    await h.admin.trpc.admin.revokeToken.mutate({ tokenId });
    const second = await h.as("factory");
    await registerFactory(second, { factoryId: f, capabilities: ["identity-4"] });
    expect((await second.trpc.factory.heartbeat.mutate({ factoryId: f, ...idle })).state).toBe("active");
  });

  it("revokeFactory of an unknown factory is NOT_FOUND, and needs an admin", async () => {
    expect(codeOf(await rejection(h.admin.trpc.admin.revokeFactory.mutate({ factoryId: "nobody" }))).code).toBe(
      "NOT_FOUND",
    );
    await forbidden(service.trpc.admin.revokeFactory.mutate({ factoryId: "nobody" }));
  });
});
