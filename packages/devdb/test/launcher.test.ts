import { spawn } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { MongoClient, MongoServerError } from "mongodb";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { databaseNameFor, isProcessAlive, mongoOptionsFromEnv, startMongo } from "../src/index.js";
import { OutputTail, waitForLine } from "../src/process.js";
import { openTestDb, type TestDb } from "./support/test-db.js";

const packageDir = fileURLToPath(new URL("../", import.meta.url));
const launcherUrl = pathToFileURL(fileURLToPath(new URL("../src/index.ts", import.meta.url))).href;

/** Polls up to 100 × 100 ms for `pid` to disappear; returns whether it is still there. */
async function stillAliveAfterWaiting(pid: number): Promise<boolean> {
  for (let i = 0; i < 100 && isProcessAlive(pid); i++) await sleep(100);
  return isProcessAlive(pid);
}

describe("the shared test MongoDB", () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await openTestDb("mongo-launcher");
  });
  afterAll(() => t?.close());

  it("is reachable with the real driver and reports its backend", async () => {
    expect(["external", "mongod", "stand-in"]).toContain(inject("mongoBackend"));
    const pong = await t.db.command({ ping: 1 });
    expect(pong.ok).toBe(1);
    const smoke = t.db.collection<{ _id: number; hello: string }>("smoke");
    await smoke.insertOne({ _id: 1, hello: "world" });
    expect(await smoke.findOne({ _id: 1 })).toEqual({ _id: 1, hello: "world" });
  });

  it("rejects a duplicate key on a unique index with code 11000", async () => {
    const users = t.db.collection<{ email: string }>("users");
    await users.createIndex({ email: 1 }, { unique: true });
    await users.insertOne({ email: "a@example.test" });
    const error = await users.insertOne({ email: "a@example.test" }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(MongoServerError);
    expect((error as MongoServerError).code).toBe(11000);
    expect(await users.countDocuments({ email: "a@example.test" })).toBe(1);
  });

  it("lets 50 concurrent claims take each of 20 documents exactly once", async () => {
    interface Slot {
      _id: number;
      state: "free" | "taken";
      epoch: number;
      holder?: number;
    }
    const slots = t.db.collection<Slot>("slots");
    await slots.insertMany(Array.from({ length: 20 }, (_, i) => ({ _id: i, state: "free" as const, epoch: 0 })));

    const claims = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        slots.findOneAndUpdate(
          { state: "free" },
          { $set: { state: "taken", holder: i }, $inc: { epoch: 1 } },
          { returnDocument: "after" },
        ),
      ),
    );

    const won = claims.filter((doc): doc is Slot => doc !== null);
    expect(won).toHaveLength(20);
    expect(claims.filter((doc) => doc === null)).toHaveLength(30);
    expect(new Set(won.map((doc) => doc._id)).size).toBe(20);
    for (const doc of won) expect(doc).toMatchObject({ state: "taken", epoch: 1 });
    // What the server kept agrees with what the winners were told.
    const stored = await slots.find().sort({ _id: 1 }).toArray();
    expect(stored.every((doc) => doc.state === "taken" && doc.epoch === 1)).toBe(true);
    expect(new Set(stored.map((doc) => doc.holder)).size).toBe(20);
    for (const doc of won) expect(stored.find((s) => s._id === doc._id)?.holder).toBe(doc.holder);
  });

  it("fences out a writer holding a stale epoch", async () => {
    const jobs = t.db.collection<{ _id: string; epoch: number; holder: string }>("jobs");
    await jobs.insertOne({ _id: "job-1", epoch: 1, holder: "worker-a" });
    const reclaimed = await jobs.findOneAndUpdate(
      { _id: "job-1", epoch: 1 },
      { $set: { holder: "worker-b" }, $inc: { epoch: 1 } },
      { returnDocument: "after" },
    );
    expect(reclaimed).toEqual({ _id: "job-1", epoch: 2, holder: "worker-b" });

    const stale = await jobs.updateOne({ _id: "job-1", epoch: 1 }, { $set: { holder: "worker-a" } });
    expect(stale.matchedCount).toBe(0);
    expect(stale.modifiedCount).toBe(0);
    expect(await jobs.findOne({ _id: "job-1" })).toEqual({ _id: "job-1", epoch: 2, holder: "worker-b" });
  });
});

describe("the Java stand-in process", () => {
  it("reports the stand-in backend, serves the driver, and dies on stop()", { timeout: 180_000 }, async () => {
    const mongo = await startMongo({ backend: "stand-in" });
    expect(mongo.backend).toBe("stand-in");
    expect(mongo.describe()).toContain("stand-in");
    expect(mongo.url).toMatch(/^mongodb:\/\/127\.0\.0\.1:\d+$/);
    const pid = mongo.pid;
    if (pid === undefined) throw new Error("stand-in handle has no pid");
    expect(isProcessAlive(pid)).toBe(true);

    {
      await using client = new MongoClient(mongo.url);
      const db = client.db(databaseNameFor("stand-in-stop"));
      await db.collection("c").insertOne({ n: 1 });
      expect(await db.collection("c").countDocuments()).toBe(1);
    }

    await mongo.stop();
    expect(isProcessAlive(pid)).toBe(false);
    // Idempotent: a second stop() neither throws nor hangs.
    await mongo.stop();
  });

  it("does not outlive its owner when the owner is SIGKILLed", { timeout: 180_000 }, async () => {
    const script = [
      `import { startMongo } from ${JSON.stringify(launcherUrl)};`,
      `const mongo = await startMongo({ backend: 'stand-in' });`,
      "console.log('JVM_PID ' + mongo.pid);",
      // The handle is unref'd; keep the owner alive until it is killed.
      "setInterval(() => {}, 60_000);",
    ].join("\n");
    const owner = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "--eval", script], {
      cwd: packageDir,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const output = new OutputTail().attach(owner.stderr);
    let jvmPid: number;
    try {
      const line = await waitForLine(owner, { prefix: "JVM_PID ", timeoutMs: 170_000, what: "owner script", output });
      jvmPid = Number(line);
    } catch (err) {
      owner.kill("SIGKILL");
      throw err;
    }
    expect(Number.isInteger(jvmPid) && jvmPid > 0).toBe(true);
    expect(isProcessAlive(jvmPid)).toBe(true);

    owner.kill("SIGKILL");

    const leaked = await stillAliveAfterWaiting(jvmPid);
    // Do not leave a leaked JVM running just because the assertion failed.
    if (leaked) process.kill(jvmPid, "SIGKILL");
    expect(leaked).toBe(false);
  });
});

describe("launcher options and helpers", () => {
  it("uses GF_MONGO_URL as is and starts nothing", async () => {
    const url = inject("mongoUrl");
    const mongo = await startMongo(mongoOptionsFromEnv({ GF_MONGO_URL: url }));
    expect(mongo).toMatchObject({ url, backend: "external", pid: undefined });
    await mongo.stop();
    // stop() on an external server must leave it running.
    await using client = new MongoClient(url);
    expect((await client.db("admin").command({ ping: 1 })).ok).toBe(1);
  });

  it("reads GF_MONGOD_BINARY and GF_STAND_IN_HEAP, and rejects a malformed heap", () => {
    expect(mongoOptionsFromEnv({ GF_MONGOD_BINARY: "/opt/mongo/bin/mongod", GF_STAND_IN_HEAP: "128m" })).toEqual({
      url: undefined,
      mongodBinary: "/opt/mongo/bin/mongod",
      heapMb: 128,
    });
    expect(mongoOptionsFromEnv({})).toEqual({ url: undefined, mongodBinary: undefined, heapMb: undefined });
    expect(() => mongoOptionsFromEnv({ GF_STAND_IN_HEAP: "lots" })).toThrow(RangeError);
  });

  it("fails loudly when an explicit mongod binary does not run", async () => {
    await expect(startMongo({ mongodBinary: "/nonexistent/mongod" })).rejects.toThrow(/mongod not usable/);
  });

  it("makes unique, valid database names", () => {
    const names = new Set(Array.from({ length: 100 }, () => databaseNameFor('test/claims.test.ts "x"')));
    expect(names.size).toBe(100);
    for (const name of names) {
      expect(name).toMatch(/^gf_test_claims_test_ts_x_[a-z0-9]+$/);
      expect(Buffer.byteLength(name)).toBeLessThan(64);
    }
    expect(databaseNameFor("x".repeat(500)).length).toBeLessThan(64);
    expect(databaseNameFor("...")).toMatch(/^gf_db_/);
  });
});
