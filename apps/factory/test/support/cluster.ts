import { databaseNameFor } from "@gigafactory/devdb";
import { type SpawnedCoordinator, spawnCoordinator } from "@gigafactory/coordinator/testing";
import type { Artifact } from "@gigafactory/schema";
import { createGigafactoryClient, type GigafactoryClient } from "@gigafactory/sdk";

/** Short coordinator timings so lease expiry and backoff happen within a test. */
export const FAST_COORDINATOR_ENV = {
  GF_LEASE_TTL: "1500ms",
  GF_BACKOFF_BASE: "100ms",
  GF_HEARTBEAT_INTERVAL: "500ms",
} as const;

/** A real coordinator process on its own database, with a service client and a factory token. */
export interface Cluster {
  /** The coordinator process running now (a new one after {@link Cluster.restartCoordinator}). */
  readonly coordinator: SpawnedCoordinator;
  url: string;
  /** Service-role client: jobs, profiles, artifacts. */
  service: GigafactoryClient;
  serviceToken: string;
  /** A factory-role token for factory processes. */
  factoryToken: string;
  /** Downloads an artifact's bytes over the plain HTTP route. */
  download(artifactId: string): Promise<{ status: number; body: Buffer; sha256Header: string | null }>;
  /** Stops the coordinator process (an outage); the database and data dir stay. */
  stopCoordinator(signal?: NodeJS.Signals): Promise<void>;
  /** Starts a coordinator again on the same port, database and data dir (needs `dataDir`). */
  restartCoordinator(): Promise<void>;
  close(): Promise<void>;
  /** `await using cluster = await startCluster(…)`: closes it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void>;
}

export interface ClusterOptions {
  /** The MongoDB to use (in tests: `inject("mongoUrl")`). */
  mongoUrl: string;
  /** Names the database (one per test file). */
  label: string;
  /** Coordinator environment laid over {@link FAST_COORDINATOR_ENV}. */
  env?: Record<string, string>;
  /** The coordinator's data dir, kept across {@link Cluster.restartCoordinator} (the caller removes it). */
  dataDir?: string;
}

export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  const spawnOptions = {
    mongoUrl: opts.mongoUrl,
    dbName: databaseNameFor(opts.label),
    env: { ...FAST_COORDINATOR_ENV, ...opts.env },
    ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
  };
  let coordinator = await spawnCoordinator(spawnOptions);
  const admin = createGigafactoryClient({ url: coordinator.url, token: coordinator.adminToken });
  try {
    const { token: serviceToken } = await admin.trpc.admin.createToken.mutate({
      role: "service",
      name: "factory tests",
    });
    const { token: factoryToken } = await admin.trpc.admin.createToken.mutate({
      role: "factory",
      name: "factory tests",
    });
    const service = createGigafactoryClient({ url: coordinator.url, token: serviceToken });
    let closing: Promise<void> | undefined;
    const close = (): Promise<void> => {
      closing ??= (async () => {
        await service.close().catch(() => undefined);
        await coordinator.stop();
      })();
      return closing;
    };
    return {
      get coordinator() {
        return coordinator;
      },
      url: coordinator.url,
      service,
      serviceToken,
      factoryToken,
      async download(artifactId) {
        const response = await fetch(`${coordinator.url}/artifacts/${encodeURIComponent(artifactId)}/content`, {
          headers: service.authHeader(),
        });
        return {
          status: response.status,
          body: Buffer.from(await response.arrayBuffer()),
          sha256Header: response.headers.get("x-sha256"),
        };
      },
      async stopCoordinator(signal = "SIGKILL") {
        await coordinator.stop(signal);
      },
      async restartCoordinator() {
        if (!opts.dataDir) throw new Error("restartCoordinator needs a cluster started with a dataDir");
        const port = new URL(coordinator.url).port;
        coordinator = await spawnCoordinator({ ...spawnOptions, env: { ...spawnOptions.env, GF_PORT: port } });
      },
      close,
      [Symbol.asyncDispose]: close,
    };
  } finally {
    await admin.close();
  }
}

/**
 * `artifacts.list` through the SDK. Workaround: the coordinator's plain HTTP handler claims every
 * path that starts with `/artifacts` (http/routes.ts), so a lone `GET /artifacts.list?batch=1`
 * never reaches tRPC and answers 404 `{"error":"NOT_FOUND"}`. Batched behind `jobs.get` (same
 * tick, so httpBatchLink sends `/jobs.get,artifacts.list`), the real procedure answers.
 */
export async function listArtifacts(client: GigafactoryClient, jobId: string): Promise<Artifact[]> {
  const [, artifacts] = await Promise.all([
    client.trpc.jobs.get.query({ jobId }),
    client.trpc.artifacts.list.query({ jobId }),
  ]);
  return artifacts;
}
