import type { ClaimedJob, JobCreateInput, RegisterInput, Role } from "@gigafactory/schema";
import { inject } from "vitest";
import { type SpawnedCoordinator, spawnCoordinator } from "@gigafactory/coordinator/testing";
import { type TestClient, createClient } from "./client.js";
import { type TestDb, openTestDb } from "./test-db.js";

export interface HarnessOptions {
  /** Extra coordinator environment, e.g. `{ GF_LEASE_TTL: "1s" }`. */
  env?: Record<string, string>;
}

/**
 * One real coordinator process on a database of its own, an admin client, and a direct
 * driver handle on the same database for before/after snapshots. `close()` (or `await using`)
 * stops it all.
 */
export class Harness {
  private readonly clients: TestClient[] = [];
  private readonly extra: SpawnedCoordinator[] = [];
  readonly admin: TestClient;

  private constructor(
    readonly coordinator: SpawnedCoordinator,
    readonly testDb: TestDb,
  ) {
    this.admin = this.client(coordinator.adminToken);
  }

  static async start(label: string, opts: HarnessOptions = {}): Promise<Harness> {
    const testDb = await openTestDb(label);
    try {
      const coordinator = await spawnCoordinator({
        mongoUrl: inject("mongoUrl"),
        dbName: testDb.dbName,
        env: opts.env ?? {},
      });
      return new Harness(coordinator, testDb);
    } catch (error) {
      await testDb.close();
      throw error;
    }
  }

  get url(): string {
    return this.coordinator.url;
  }

  get db() {
    return this.testDb.db;
  }

  /** A client of this coordinator (or another one's URL); closed with the harness. */
  client(token: string | undefined, url = this.url): TestClient {
    const client = createClient({ url, token });
    this.clients.push(client);
    return client;
  }

  async token(role: Role, productId?: string): Promise<string> {
    const { token } = await this.admin.trpc.admin.createToken.mutate({ role, ...(productId ? { productId } : {}) });
    return token;
  }

  /** A client holding a fresh token of `role` (in `productId`, default the admin's product). */
  async as(role: Role, productId?: string): Promise<TestClient> {
    return this.client(await this.token(role, productId));
  }

  /** A second coordinator process on the same database (same data dir, so same admin token). */
  async second(env: Record<string, string> = {}): Promise<SpawnedCoordinator> {
    const other = await spawnCoordinator({
      mongoUrl: inject("mongoUrl"),
      dbName: this.testDb.dbName,
      dataDir: this.coordinator.dataDir,
      env,
    });
    this.extra.push(other);
    return other;
  }

  /** Every collection's document count, to prove that a refused call wrote nothing. */
  async counts(): Promise<Record<string, number>> {
    const names = ["jobs", "runs", "events", "factories", "profiles", "artifacts", "locks", "tokens"];
    const counts: Record<string, number> = {};
    for (const name of names) counts[name] = await this.db.collection(name).countDocuments();
    return counts;
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.clients.map((client) => client.close()));
    await Promise.allSettled(this.extra.map((other) => other.stop()));
    await this.coordinator.stop();
    await this.testDb.close();
  }

  /** `await using h = await Harness.start(…)`: closes it all at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

let factorySerial = 0;

/** Registers a factory (defaults: shell engine, no capabilities, 8 seats) and returns its id. */
export async function registerFactory(client: TestClient, opts: Partial<RegisterInput> = {}): Promise<string> {
  const factoryId = opts.factoryId ?? `f-${process.pid}-${++factorySerial}`;
  await client.trpc.factory.register.mutate({
    factoryId,
    descriptor: { host: "test-host", pid: process.pid, os: "linux", version: "test" },
    capabilities: opts.capabilities ?? [],
    engines: opts.engines ?? ["shell"],
    seatLimit: opts.seatLimit ?? 8,
  });
  return factoryId;
}

let jobSerial = 0;

/** Creates a shell job with a unique key unless one is given; returns the stored job. */
export async function createJob(client: TestClient, input: Partial<JobCreateInput> = {}) {
  const { job } = await client.trpc.jobs.create.mutate({ bodyMd: `# job ${++jobSerial}\n\necho hi\n`, ...input });
  return job;
}

/** The fence of a claimed job, as every factory write carries it. */
export function fenceOf(claimed: ClaimedJob, factoryId: string): { jobId: string; epoch: number; factoryId: string } {
  return { jobId: claimed.job._id, epoch: claimed.epoch, factoryId };
}

/** Claims until one job comes back (e.g. once a backoff has passed); bounded. */
export async function claimOne(
  client: TestClient,
  factoryId: string,
  opts: { tries?: number } = {},
): Promise<ClaimedJob> {
  const claimed = await poll(async () => (await client.trpc.factory.claim.mutate({ factoryId })).jobs[0], {
    tries: opts.tries ?? 200,
    what: `a claim by ${factoryId}`,
  });
  return claimed;
}

/**
 * Calls `probe` until it returns something other than undefined/null/false, at most `tries`
 * times `everyMs` apart; throws naming `what` when it never does. No time thresholds: a bound.
 */
export async function poll<T>(
  probe: () => Promise<T | undefined | null | false>,
  opts: { tries?: number; everyMs?: number; what: string },
): Promise<T> {
  const tries = opts.tries ?? 200;
  for (let i = 0; i < tries; i++) {
    const value = await probe();
    if (value !== undefined && value !== null && value !== false) return value;
    await new Promise((resolve) => setTimeout(resolve, opts.everyMs ?? 50));
  }
  throw new Error(`gave up waiting for ${opts.what} after ${tries} tries`);
}
