import { databaseNameFor } from "@gigafactory/devdb";
import { type SpawnedCoordinator, spawnCoordinator } from "@gigafactory/coordinator/testing";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createGigafactoryClient, type GigafactoryClient } from "../src/index.js";

let coordinator: SpawnedCoordinator;
let service: GigafactoryClient;

beforeAll(async () => {
  coordinator = await spawnCoordinator({ mongoUrl: inject("mongoUrl"), dbName: databaseNameFor("sdk-client") });
  const admin = createGigafactoryClient({ url: coordinator.url, token: coordinator.adminToken });
  try {
    const { token } = await admin.trpc.admin.createToken.mutate({ role: "service", name: "sdk client test" });
    service = createGigafactoryClient({ url: coordinator.url, token });
  } finally {
    await admin.close();
  }
});

afterAll(async () => {
  await service?.close();
  await coordinator?.stop();
});

describe("the client's batch link", () => {
  it("splits a fan-out of 250 queries into requests the server accepts", async () => {
    const created = await Promise.all(
      Array.from({ length: 250 }, (_, index) =>
        service.trpc.jobs.create.mutate({ title: `fan-out ${index}`, engine: "shell", bodyMd: "echo hi" }),
      ),
    );
    const ids = created.map(({ job }) => job._id);
    const jobs = await Promise.all(ids.map((jobId) => service.trpc.jobs.get.query({ jobId })));
    expect(jobs.map((job) => job._id)).toEqual(ids);
    expect(new Set(jobs.map((job) => job.title)).size).toBe(250);
  });
});

describe("the client's fetch option", () => {
  it("sends every query and mutation through the fetch it is given", async () => {
    const calls: string[] = [];
    const counted = createGigafactoryClient({
      url: coordinator.url,
      token: coordinator.adminToken,
      fetch: (input, init) => {
        calls.push(`${init?.method} ${new URL(String(input)).pathname}`);
        return fetch(input, init);
      },
    });
    try {
      const { job } = await counted.trpc.jobs.create.mutate({
        title: "through fetch",
        engine: "shell",
        bodyMd: "true",
      });
      expect((await counted.trpc.jobs.get.query({ jobId: job._id }))._id).toBe(job._id);
      expect(calls).toEqual(["POST /jobs.create", "GET /jobs.get"]);
    } finally {
      await counted.close();
    }
  });
});

describe("the client's websocket transport", () => {
  it("sends calls on the socket once it is open, and a large input over HTTP", async () => {
    const overHttp: string[] = [];
    const client = createGigafactoryClient({
      url: coordinator.url,
      token: coordinator.adminToken,
      lazyWebSocket: false,
      transport: "websocket",
      fetch: (input, init) => {
        overHttp.push(new URL(String(input)).pathname);
        return fetch(input, init);
      },
    });
    try {
      // until the socket is open, calls go over HTTP (they never wait for it)
      let onSocket = false;
      for (let tries = 0; tries < 100 && !onSocket; tries++) {
        const before = overHttp.length;
        await client.trpc.admin.factories.query({});
        onSocket = overHttp.length === before;
        if (!onSocket) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(onSocket).toBe(true);
      const sent = overHttp.length;
      const { job } = await client.trpc.jobs.create.mutate({ title: "on the socket", engine: "shell", bodyMd: "true" });
      expect((await client.trpc.jobs.get.query({ jobId: job._id }))._id).toBe(job._id);
      expect(overHttp.length).toBe(sent);
      // 250,000 quotes: within the body limit, twice that as JSON, over the socket's share
      const large = await client.trpc.jobs.create.mutate({
        title: "large",
        engine: "shell",
        bodyMd: '"'.repeat(250_000),
      });
      expect(large.job.bodyMd).toHaveLength(250_000);
      expect(overHttp.slice(sent)).toEqual(["/jobs.create"]);
    } finally {
      await client.close();
    }
  });
});
