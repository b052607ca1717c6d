import { startMongo } from "@gigafactory/devdb";
import { spawnCoordinator } from "@gigafactory/coordinator/testing";
import { describe, expect, it } from "vitest";
import { poll } from "./support/harness.js";

const status = async (url: string) => (await fetch(url)).status;

describe("/readyz", () => {
  it("answers 503 once MongoDB is unreachable, while /healthz (the process) stays 200", async () => {
    // a MongoDB of this test's own (the same kind the run uses), so stopping it harms no other test
    await using mongo = await startMongo({ backend: "auto" });
    await using coordinator = await spawnCoordinator({ mongoUrl: mongo.url, dbName: "readyz" });
    expect(await status(`${coordinator.url}/readyz`)).toBe(200);

    await mongo.stop();
    await poll(async () => (await status(`${coordinator.url}/readyz`)) === 503, {
      what: "/readyz to fail without MongoDB",
      tries: 100,
      everyMs: 100,
    });
    expect(await status(`${coordinator.url}/healthz`)).toBe(200);
  });
});
