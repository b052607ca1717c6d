import { readFileSync } from "node:fs";
import { type IncomingMessage, type RequestListener, type Server, createServer } from "node:http";
import { type Server as HttpsServer, createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { createHTTPHandler } from "@trpc/server/adapters/standalone";
import { applyWSSHandler } from "@trpc/server/adapters/ws";
import { MongoClient } from "mongodb";
import { WebSocketServer } from "ws";
import { ensureIndexes } from "./db/indexes.js";
import { type Env, timingOptions } from "./env.js";
import { DEFAULT_DASHBOARD_DIR, serveDashboard } from "./http/dashboard-static.js";
import { credentialInUrl, handlePlainRoute } from "./http/routes.js";
import { guardWebSockets } from "./http/websocket.js";
import type { Logger } from "./logger.js";
import type { TimingOptions } from "./options.js";
import { bootstrapAdminToken } from "./modules/auth/bootstrap.js";
import { trackerSetup } from "./modules/tracker/tracker.setup.js";
import { type Services, createServices } from "./services.js";
import { contextFactory } from "./trpc/context.js";
import { appRouter } from "./trpc/router.js";

export interface CoordinatorOptions {
  env: Env;
  /** MongoDB connection string (the caller resolves GF_MONGO_URL or the launcher). */
  mongoUrl: string;
  /** What the launcher chose (`mongod`, `stand-in`, `external`), shown by `gf status`. */
  mongoBackend?: string;
  logger: Logger;
}

/**
 * The coordinator process: tRPC over HTTP and WebSocket on one port, the reaper and the
 * notifier. `close()` is idempotent and runs every cleanup step even if one fails.
 */
export class Coordinator {
  private client: MongoClient | undefined;
  private server: Server | HttpsServer | undefined;
  private wss: WebSocketServer | undefined;
  private wssHandler: ReturnType<typeof applyWSSHandler> | undefined;
  private stopGuard: (() => void) | undefined;
  private closing: Promise<void> | undefined;
  private httpClosed: Promise<void> | undefined;
  services: Services | undefined;
  /** Every timing rule, from options.ts with the environment's values filled in. */
  readonly options: TimingOptions;

  constructor(private readonly opts: CoordinatorOptions) {
    this.options = timingOptions(opts.env);
  }

  async start(): Promise<{ url: string; port: number }> {
    const { env, logger } = this.opts;
    const options = this.options;
    this.client = new MongoClient(this.opts.mongoUrl, {
      maxPoolSize: 50,
      serverSelectionTimeoutMS: options.transport.mongoServerSelectionTimeoutMs,
    });
    await this.client.connect();
    const db = this.client.db(env.GF_DB_NAME);
    const services = createServices(
      db,
      {
        timings: options,
        leaseTtlMs: options.lease.ttlMs,
        heartbeatMs: options.lease.heartbeatMs,
        factoryGoneAfterMs: options.lease.factoryGoneAfterMs,
        notifierPollMs: options.notifier.pollMs,
        backoff: options.lease.backoff,
        artifactMaxBytes: env.GF_ARTIFACT_MAX_BYTES,
        blobDir: env.GF_BLOB_DIR ?? join(env.GF_DATA_DIR, "blobs"),
        tracker: trackerSetup(env, options.tracker),
        metricsEnabled: env.GF_METRICS,
        mongoBackend: this.opts.mongoBackend,
      },
      logger,
    );
    this.services = services;
    await ensureIndexes(services.cols);
    await bootstrapAdminToken({
      tokens: services.tokens,
      file: env.GF_ADMIN_TOKEN_FILE ?? join(env.GF_DATA_DIR, "admin.token"),
      productId: env.GF_DEFAULT_PRODUCT,
      logger,
    });

    const createContext = contextFactory({ services, logger: logger.child({ module: "trpc" }), options });
    const trpcHandler = createHTTPHandler({
      router: appRouter,
      createContext,
      maxBodySize: env.GF_HTTP_MAX_BODY_BYTES,
      maxBatchSize: options.limits.maxBatchSize,
    });
    const ready = async () => {
      try {
        await db.command({ ping: 1 }, { timeoutMS: options.transport.readyPingTimeoutMs });
        return !this.closing;
      } catch {
        return false;
      }
    };
    const listener: RequestListener = (req, res) => {
      handlePlainRoute(req, res, { services, ready, logger, metricsToken: env.GF_METRICS_TOKEN })
        .then((handled) => handled || serveDashboard(req, res, env.GF_DASHBOARD_DIR ?? DEFAULT_DASHBOARD_DIR))
        .then((handled) => {
          if (!handled) trpcHandler(req, res);
        })
        .catch((error: unknown) => {
          logger.error({ err: error }, "request failed");
          if (!res.headersSent) res.writeHead(500).end();
        });
    };
    // HTTPS and WSS on the same port when given a certificate (env.ts checks the pair)
    const tls = env.GF_TLS_CERT && env.GF_TLS_KEY ? { cert: env.GF_TLS_CERT, key: env.GF_TLS_KEY } : undefined;
    this.server = tls
      ? createHttpsServer({ cert: readFileSync(tls.cert), key: readFileSync(tls.key) }, listener)
      : createServer(listener);
    // a message over `maxPayload` closes the socket (1009) before it is buffered
    this.wss = new WebSocketServer({
      server: this.server,
      maxPayload: options.limits.wsMaxPayloadBytes,
      // tokens come in the connection params, never in the URL
      verifyClient: ({ req }: { req: IncomingMessage }) =>
        !credentialInUrl(new URL(req.url ?? "/", "http://localhost"), { websocket: true }),
    });
    this.stopGuard = guardWebSockets(this.wss, options.limits, logger.child({ module: "ws" }), services.tokens);
    this.wssHandler = applyWSSHandler({
      wss: this.wss,
      router: appRouter,
      createContext,
      // a client resending every open subscription after a reconnect sends them in one message
      maxBatchSize: options.limits.maxBatchSize + options.limits.wsMaxSubscriptions,
      keepAlive: { enabled: true, ...options.transport.keepAlive },
    });

    await new Promise<void>((resolve, reject) => {
      this.server?.once("error", reject);
      this.server?.listen(env.GF_PORT, env.GF_HOST, () => resolve());
    });
    services.notifier.start();
    services.reaper.start();
    services.blobSweeper.start();
    services.scheduleLoop.start();
    services.trackerWorker.start();
    services.trackerPoller?.start();
    const { port } = this.server.address() as AddressInfo;
    const url = `${tls ? "https" : "http"}://${env.GF_HOST}:${port}`;
    logger.info({ url, db: env.GF_DB_NAME, leaseTtlMs: options.lease.ttlMs }, "coordinator listening");
    return { url, port };
  }

  /** Stop accepting, tell WebSocket clients to reconnect elsewhere, finish in-flight requests. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  /** Closes the listening socket; the promise settles once every connection has ended. */
  private stopAccepting(): void {
    const server = this.server;
    if (!server?.listening) return;
    this.httpClosed = new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async shutdown(): Promise<void> {
    const steps: Array<[string, () => unknown]> = [
      ["broadcast reconnect", () => this.wssHandler?.broadcastReconnectNotification()],
      ["stop reaper", () => this.services?.reaper.close()],
      ["stop blob sweeper", () => this.services?.blobSweeper.close()],
      ["stop schedule loop", () => this.services?.scheduleLoop.close()],
      ["stop tracker worker", () => this.services?.trackerWorker.close()],
      ["stop tracker poller", () => this.services?.trackerPoller?.close()],
      ["stop websocket guard", () => this.stopGuard?.()],
      ["stop notifier", () => this.services?.notifier.close()],
      // stop accepting first (clients told to reconnect must not come back here), then close the
      // WebSockets (an open upgraded socket would hold `server.close()`), then let HTTP calls finish
      ["stop accepting", () => this.stopAccepting()],
      [
        "close websockets",
        () => {
          for (const client of this.wss?.clients ?? []) client.close(1001, "coordinator shutting down");
          return new Promise<void>((resolve) => (this.wss ? this.wss.close(() => resolve()) : resolve()));
        },
      ],
      [
        "close http",
        () =>
          new Promise<void>((resolve) => {
            if (!this.httpClosed) return resolve();
            this.server?.closeIdleConnections();
            void this.httpClosed.then(resolve);
            // in-flight requests get a grace period; then the rest is cut
            setTimeout(() => {
              this.server?.closeAllConnections();
              resolve();
            }, this.options.transport.closeGraceMs).unref();
          }),
      ],
      ["close mongo", () => this.client?.close()],
    ];
    for (const [name, step] of steps) {
      try {
        await step();
      } catch (error) {
        this.opts.logger.error({ err: error, step: name }, "shutdown step failed");
      }
    }
  }
}
