import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FleetConnectionError, findFleetConnection, findFleetFile } from "./fleet-connection.js";

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

  it("lets GF_URL + GF_TOKEN, then explicit --url + --token, win, each as a pair", async () => {
    expect(await findFleetConnection({ cwd: root, env: { GF_URL: "http://x:1", GF_TOKEN: "env-t" } })).toEqual({
      url: "http://x:1",
      token: "env-t",
      source: "env",
    });
    expect(
      await findFleetConnection({
        cwd: root,
        env: { GF_URL: "http://x:1", GF_TOKEN: "env-t" },
        url: "http://y:2",
        token: "flag-t",
      }),
    ).toEqual({ url: "http://y:2", token: "flag-t", source: "flags" });
  });

  it("never mixes: half a pair is refused, not completed from the fleet file or the environment", async () => {
    // a fleet.json planted in a parent directory must not receive the real token
    await expect(findFleetConnection({ cwd: root, env: { GF_TOKEN: "env-t" } })).rejects.toThrow(FleetConnectionError);
    await expect(findFleetConnection({ cwd: root, env: { GF_URL: "http://x:1" } })).rejects.toThrow(
      /GF_URL and GF_TOKEN go together/,
    );
    await expect(findFleetConnection({ cwd: root, env: {}, token: "flag-t" })).rejects.toThrow(
      /--url and --token go together/,
    );
    // nor flags with the environment
    await expect(
      findFleetConnection({ cwd: root, env: { GF_URL: "http://x:1", GF_TOKEN: "env-t" }, url: "http://y:2" }),
    ).rejects.toThrow(/--url and --token go together/);
  });

  it("returns undefined with nothing to go on", async () => {
    expect(await findFleetConnection({ cwd: tmpdir(), env: {} })).toBeUndefined();
  });
});
