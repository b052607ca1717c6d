import { JOB_LIMITS } from "@gigafactory/schema";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestClient, rejection } from "./support/client.js";
import { Collector } from "./support/collector.js";
import { Harness, claimOne, createJob, fenceOf, registerFactory } from "./support/harness.js";

type Issue = { path: string; message: string };

/** Loosely typed calls: the point is to send what the types would not allow. */
type Loose = (input: unknown) => Promise<unknown>;
const loose = (fn: unknown) => fn as Loose;

describe("bad input is refused with the field named, and writes nothing", () => {
  let h: Harness;
  let service: TestClient;
  let factory: TestClient;
  let fence: { jobId: string; epoch: number; factoryId: string };
  let leafJob: string;
  beforeAll(async () => {
    h = await Harness.start("bad-input", { env: { GF_LEASE_TTL: "1h" } });
    service = await h.as("service");
    factory = await h.as("factory");
    const factoryId = await registerFactory(factory);
    leafJob = (await createJob(service))._id;
    fence = fenceOf(await claimOne(factory, factoryId), factoryId);
  });
  afterAll(() => h?.close());

  const cases = (): Array<{ what: string; field: string; call: () => Promise<unknown> }> => [
    {
      what: "a string where a number belongs",
      field: "priority",
      call: () => loose(service.trpc.jobs.create.mutate)({ bodyMd: "x", priority: "high" }),
    },
    {
      what: "a body over the size limit",
      field: "bodyMd",
      call: () => service.trpc.jobs.create.mutate({ bodyMd: "é".repeat(JOB_LIMITS.bodyMdMaxBytes / 2 + 1) }),
    },
    {
      what: "a missing required field",
      field: "bodyMd",
      call: () => loose(service.trpc.jobs.create.mutate)({ title: "no body" }),
    },
    {
      what: "a malformed capability inside an array",
      field: "capabilities.1",
      call: () => service.trpc.jobs.create.mutate({ bodyMd: "x", capabilities: ["ok", "has space"] }),
    },
    {
      what: "an unknown key",
      field: "colour",
      call: () => loose(service.trpc.jobs.create.mutate)({ bodyMd: "x", colour: "red" }),
    },
    {
      what: "an unknown nested key",
      field: "profile.colour",
      call: () => loose(service.trpc.jobs.create.mutate)({ bodyMd: "x", profile: { name: "p", colour: "red" } }),
    },
    {
      what: "an unknown dependency",
      field: "deps",
      call: () => service.trpc.jobs.create.mutate({ bodyMd: "x", deps: ["no-such-job"] }),
    },
    {
      what: "an unpublished profile",
      field: "profile",
      call: () => service.trpc.jobs.create.mutate({ bodyMd: "x", profile: { name: "ghost" } }),
    },
    {
      what: "a parent that is not composite",
      field: "parentId",
      call: () => service.trpc.jobs.create.mutate({ bodyMd: "x", parentId: leafJob }),
    },
    {
      what: "an unknown stage in a list filter",
      field: "stage",
      call: () => loose(service.trpc.jobs.list.query)({ stage: "done" }),
    },
    {
      what: "an unknown stage to advance to",
      field: "to",
      call: () => loose(factory.trpc.factory.advance.mutate)({ ...fence, to: "deployed" }),
    },
    {
      what: "a cursor with bad characters",
      field: "cursor",
      call: () => service.trpc.jobs.list.query({ cursor: "not a cursor!" }),
    },
    {
      what: "a well-formed cursor the coordinator did not make",
      field: "cursor",
      call: () => service.trpc.jobs.list.query({ cursor: Buffer.from('{"v":2,"id":"x"}').toString("base64url") }),
    },
    {
      what: "a cursor that is not even JSON",
      field: "cursor",
      call: () => service.trpc.jobs.list.query({ cursor: "aGVsbG8" }),
    },
    {
      what: "a lifecycle event type from a factory",
      field: "events.0.type",
      call: () =>
        loose(factory.trpc.factory.appendEvents.mutate)({ ...fence, events: [{ type: "completed", data: {} }] }),
    },
    {
      what: "a negative epoch",
      field: "epoch",
      call: () => factory.trpc.factory.renew.mutate({ ...fence, epoch: -1 }),
    },
    {
      what: "a seat limit of zero",
      field: "seatLimit",
      call: () =>
        factory.trpc.factory.register.mutate({
          factoryId: "f-zero",
          descriptor: { host: "h", pid: 1, os: "linux", version: "1" },
          capabilities: [],
          engines: ["shell"],
          seatLimit: 0,
        }),
    },
    {
      what: "a completion result the factory may not report",
      field: "result",
      call: () => loose(factory.trpc.factory.complete.mutate)({ ...fence, result: "lost" }),
    },
    {
      what: "an unknown role",
      field: "role",
      call: () => loose(h.admin.trpc.admin.createToken.mutate)({ role: "root" }),
    },
    {
      what: "a bad profile env name",
      field: "snapshot.env.lower",
      call: () => service.trpc.profiles.publish.mutate({ name: "p", snapshot: { env: { lower: "x" } } }),
    },
  ];

  it("every case: BAD_REQUEST, the field in the message and in data.issues; no document changed", async () => {
    const before = await h.counts();
    const jobsBefore = await h.db.collection("jobs").find({}).toArray();
    const seen: Array<{ what: string; code: unknown; inMessage: boolean; inIssues: boolean }> = [];
    for (const { what, field, call } of cases()) {
      const error = await rejection(call());
      const data = error.data as { code?: string; issues?: Issue[] } | undefined;
      const issues = data?.issues ?? [];
      seen.push({
        what,
        code: data?.code,
        inMessage: error.message.includes(field),
        inIssues: issues.some((issue) => issue.path === field),
      });
    }
    expect(seen).toEqual(cases().map(({ what }) => ({ what, code: "BAD_REQUEST", inMessage: true, inIssues: true })));
    expect(await h.counts()).toEqual(before);
    expect(await h.db.collection("jobs").find({}).toArray()).toEqual(jobsBefore);
  });

  it("a subscription with bad input is refused the same way", async () => {
    const watcher = new Collector<unknown>((handlers) =>
      service.trpc.jobs.watch.subscribe({ jobId: leafJob, lastEventId: "seven" }, handlers),
    );
    const error = await watcher.error("the refusal");
    watcher.stop();
    expect(error).toMatchObject({
      data: { code: "BAD_REQUEST", issues: [expect.objectContaining({ path: "lastEventId" })] },
    });
    expect((error as Error).message).toContain("lastEventId");
  });

  it("an artifact upload with a bad name is refused with the field named, and stores nothing", async () => {
    const before = await h.counts();
    const response = await fetch(
      `${h.url}/artifacts?${new URLSearchParams({ jobId: fence.jobId, epoch: String(fence.epoch), factoryId: fence.factoryId, runId: "run_x", name: "../escape" })}`,
      {
        method: "PUT",
        headers: { authorization: `Bearer ${factory.token}` },
        body: "bytes",
      },
    );
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      error: "BAD_REQUEST",
      issues: [expect.objectContaining({ path: "name" })],
    });
    expect(await h.counts()).toEqual(before);
  });
});
