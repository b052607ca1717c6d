import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findFleetConnection, findFleetFile } from "./fleet-connection.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "gf-fleet-conn-"));
  await mkdir(join(root, ".gigafactory"));
  await mkdir(join(root, "a", "b"), { recursive: true });
  await writeFile(
    join(root, ".gigafactory", "fleet.json"),
    JSON.stringify({ url: "http://127.0.0.1:7700", token: "admin-t", serviceToken: "service-t", pid: 1 }),
  );
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe("findFleetConnection", () => {
  it("finds the nearest fleet file walking up", async () => {
    expect(await findFleetFile(join(root, "a", "b"))).toBe(join(root, ".gigafactory", "fleet.json"));
    expect(await findFleetConnection({ cwd: join(root, "a", "b"), env: {} })).toEqual({
      url: "http://127.0.0.1:7700",
      token: "admin-t",
      source: join(root, ".gigafactory", "fleet.json"),
    });
    expect((await findFleetConnection({ cwd: root, env: {}, role: "service" }))?.token).toBe("service-t");
  });

  it("lets GF_URL / GF_TOKEN, then explicit values, win", async () => {
    expect(await findFleetConnection({ cwd: root, env: { GF_TOKEN: "env-t" } })).toMatchObject({
      url: "http://127.0.0.1:7700",
      token: "env-t",
    });
    expect(await findFleetConnection({ cwd: root, env: { GF_URL: "http://x:1", GF_TOKEN: "env-t" } })).toEqual({
      url: "http://x:1",
      token: "env-t",
      source: "env",
    });
    expect(
      await findFleetConnection({ cwd: root, env: { GF_URL: "http://x:1" }, url: "http://y:2", token: "flag-t" }),
    ).toEqual({ url: "http://y:2", token: "flag-t", source: "flags" });
  });

  it("returns undefined with nothing to go on", async () => {
    expect(await findFleetConnection({ cwd: tmpdir(), env: {} })).toBeUndefined();
  });
});
