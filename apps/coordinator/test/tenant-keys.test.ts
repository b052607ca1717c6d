import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestClient, codeOf, rejection } from "./support/client.js";
import { Harness, claimOne, createJob, registerFactory } from "./support/harness.js";

/**
 * Ids and names may contain `:`. Two products whose ids are crafted so that `product:name`
 * joins to the same string (`acme` + `stg:f1` and `acme:stg` + `f1`) must stay apart.
 */
describe("tenant keys: crafted ids of two products never meet", () => {
  const ACME = "acme";
  const STG = "acme:stg";
  let h: Harness;
  let acme: { service: TestClient; factory: TestClient };
  let stg: { service: TestClient; factory: TestClient };
  beforeAll(async () => {
    h = await Harness.start("tenant-keys", { env: { GF_LEASE_TTL: "1h" } });
    acme = { service: await h.as("service", ACME), factory: await h.as("factory", ACME) };
    stg = { service: await h.as("service", STG), factory: await h.as("factory", STG) };
  });
  afterAll(() => h?.close());

  it("a factory id of one product never reaches another product's factory or its jobs", async () => {
    await registerFactory(stg.factory, { factoryId: "f1", capabilities: ["stg-only"] });
    const job = await createJob(stg.service, { capabilities: ["stg-only"] });

    // acme's `stg:f1` is not registered: claiming as it is refused, not served as acme:stg's `f1`
    const unregistered = await rejection(acme.factory.trpc.factory.claim.mutate({ factoryId: "stg:f1" }));
    expect(codeOf(unregistered).code).toBe("NOT_FOUND");

    // registering it makes a factory of acme's own, which finds no work
    await registerFactory(acme.factory, { factoryId: "stg:f1", capabilities: ["stg-only"] });
    expect((await acme.factory.trpc.factory.claim.mutate({ factoryId: "stg:f1" })).jobs).toEqual([]);

    // each product sees its own factory, unchanged
    const stgFactories = await h.admin.trpc.admin.factories.query({ productId: STG });
    const acmeFactories = await h.admin.trpc.admin.factories.query({ productId: ACME });
    expect(stgFactories.map((f) => [f.productId, f.factoryId, f.state])).toEqual([[STG, "f1", "active"]]);
    expect(acmeFactories.map((f) => [f.productId, f.factoryId, f.state])).toEqual([[ACME, "stg:f1", "active"]]);
    expect(await h.db.collection("factories").countDocuments({ factoryId: { $in: ["f1", "stg:f1"] } })).toBe(2);

    // and acme:stg's `f1` still gets its own job
    const claimed = await claimOne(stg.factory, "f1");
    expect(claimed.job._id).toBe(job._id);
    expect(claimed.job.productId).toBe(STG);
  });

  it("a lock of one product does not block the lock of the same joined key in another", async () => {
    const stgFactory = await registerFactory(stg.factory, { capabilities: ["lock-test"] });
    const acmeFactory = await registerFactory(acme.factory, { capabilities: ["lock-test"] });
    const stgJob = await createJob(stg.service, { lock: "deploy", capabilities: ["lock-test"] });
    const acmeJob = await createJob(acme.service, { lock: "stg:deploy", capabilities: ["lock-test"] });

    // acme:stg holds its `deploy` ...
    expect((await claimOne(stg.factory, stgFactory)).job._id).toBe(stgJob._id);
    // ... and acme's `stg:deploy` is a different lock
    expect((await claimOne(acme.factory, acmeFactory, { tries: 5 })).job._id).toBe(acmeJob._id);
    const held = await h.db.collection("locks").find({}).toArray();
    expect(held.map((lock) => [lock.productId, lock.name, lock.jobId]).sort()).toEqual(
      [
        [ACME, "stg:deploy", acmeJob._id],
        [STG, "deploy", stgJob._id],
      ].sort(),
    );
  });

  it("profiles of two products with crafted names do not mix", async () => {
    const stgProfile = await stg.service.trpc.profiles.publish.mutate({ name: "p", snapshot: { persona: "stg" } });
    const acmeProfile = await acme.service.trpc.profiles.publish.mutate({
      name: "stg:p",
      snapshot: { persona: "acme" },
    });
    expect([stgProfile.version, acmeProfile.version]).toEqual([1, 1]);

    expect(await stg.service.trpc.profiles.get.query({ name: "p", version: 1 })).toMatchObject({
      productId: STG,
      snapshot: { persona: "stg" },
    });
    expect(await acme.service.trpc.profiles.get.query({ name: "stg:p", version: 1 })).toMatchObject({
      productId: ACME,
      snapshot: { persona: "acme" },
    });
    expect((await stg.service.trpc.profiles.list.query({})).map((p) => [p.productId, p.name])).toEqual([[STG, "p"]]);
    expect((await acme.service.trpc.profiles.list.query({})).map((p) => [p.productId, p.name])).toEqual([
      [ACME, "stg:p"],
    ]);
  });
});
