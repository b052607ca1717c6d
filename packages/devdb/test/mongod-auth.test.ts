import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MongoClient } from "mongodb";
import { describe, expect, it } from "vitest";
import { redactUrl, startMongo } from "../src/index.js";
import { createMongodCredentials, mongodArgs, mongodUrl } from "../src/mongod.js";

/** A `mongod` to start, if this host has one (this one usually has none: only the stand-in). */
function hasMongod(): boolean {
  try {
    execFileSync(process.env.GF_MONGOD_BINARY ?? "mongod", ["--version"], { stdio: "ignore", timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

async function scratchDir(): Promise<{ path: string } & AsyncDisposable> {
  const path = await mkdtemp(join(tmpdir(), "gf-mongod-auth-"));
  return { path, [Symbol.asyncDispose]: () => rm(path, { recursive: true, force: true }) };
}

const modeOf = async (path: string) => ((await stat(path)).mode & 0o777).toString(8);

describe("a launched mongod has authentication (issue 10: MongoDB on loopback had none)", () => {
  it("generates random credentials and a key file, kept 0600 in the data dir", async () => {
    await using dir = await scratchDir();
    const one = await createMongodCredentials(dir.path);
    expect(one.keyFile).toBe(join(dir.path, "keyfile"));
    expect(one.credentialsFile).toBe(join(dir.path, "credentials.json"));
    expect(await modeOf(one.keyFile)).toBe("600");
    expect(await modeOf(one.credentialsFile)).toBe("600");
    expect(JSON.parse(await readFile(one.credentialsFile, "utf8"))).toEqual({ user: one.user, password: one.password });
    expect(one.password.length).toBeGreaterThanOrEqual(32);
    // mongod's key file rule: base64 characters only, 6 to 1024 of them
    expect(await readFile(one.keyFile, "utf8")).toMatch(/^[A-Za-z0-9+/=]{6,1024}$/);

    await using other = await scratchDir();
    const two = await createMongodCredentials(other.path);
    expect(two.password).not.toBe(one.password);
    expect(await readFile(two.keyFile, "utf8")).not.toBe(await readFile(one.keyFile, "utf8"));
  });

  it("starts mongod with --auth and the key file, on loopback only", () => {
    const args = mongodArgs({ dbPath: "/d", port: 27999, logPath: "/d/mongod.log", keyFile: "/d/keyfile" });
    expect(args).toContain("--auth");
    expect(args.slice(args.indexOf("--keyFile"), args.indexOf("--keyFile") + 2)).toEqual(["--keyFile", "/d/keyfile"]);
    expect(args.slice(args.indexOf("--bind_ip"), args.indexOf("--bind_ip") + 2)).toEqual(["--bind_ip", "127.0.0.1"]);
    expect(args).not.toContain("--bind_ip_all");
    expect(args).not.toContain("--noauth");
  });

  it("hands out a URL that authenticates, and logs it without the password", () => {
    const url = mongodUrl(27999, { user: "gf-admin", password: "p@ss/word:1" });
    expect(url).toBe("mongodb://gf-admin:p%40ss%2Fword%3A1@127.0.0.1:27999/?replicaSet=rs0&authSource=admin");
    expect(redactUrl(url)).toBe("mongodb://gf-admin:***@127.0.0.1:27999/?replicaSet=rs0&authSource=admin");
  });

  it.skipIf(!hasMongod())(
    "a started mongod refuses a client without credentials and serves one with them (skipped: no mongod on this host)",
    { timeout: 120_000 },
    async () => {
      await using mongo = await startMongo({ backend: "mongod" });
      expect(mongo.describe()).not.toContain(new URL(mongo.url).password);
      const anonymous = new URL(mongo.url);
      anonymous.username = "";
      anonymous.password = "";
      await using stranger = new MongoClient(anonymous.toString(), { serverSelectionTimeoutMS: 5_000 });
      await expect(stranger.db("gf").collection("tokens").insertOne({ role: "admin" })).rejects.toThrow(
        /auth|Unauthorized|requires authentication/i,
      );
      await using owner = new MongoClient(mongo.url);
      await owner.db("gf").collection("tokens").insertOne({ role: "admin" });
      expect(await owner.db("gf").collection("tokens").countDocuments()).toBe(1);
    },
  );
});

describe("the stand-in says what it is", () => {
  it("describes itself as development only, with no authentication", { timeout: 180_000 }, async () => {
    const warnings: string[] = [];
    const logger = { info() {}, debug() {}, warn: (_: unknown, msg: string) => void warnings.push(msg) };
    await using mongo = await startMongo({ backend: "stand-in", logger });
    expect(mongo.describe()).toContain("development only, no authentication");
    expect(warnings.join("\n")).toContain("development only, no authentication");
  });
});
