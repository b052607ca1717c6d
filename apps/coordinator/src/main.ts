#!/usr/bin/env node
import { startMongo } from "@gigafactory/devdb";
import { readEnv } from "./env.js";
import { createLogger } from "./logger.js";
import { startTracing } from "./modules/tracing/tracing.js";
import { Coordinator } from "./server.js";

const env = readEnv();
const logger = createLogger({ level: env.GF_LOG_LEVEL, pretty: env.GF_LOG_PRETTY });
const stopTracing = await startTracing({
  serviceName: "gigafactory-coordinator",
  endpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT,
});
const mongo = await startMongo({ url: env.GF_MONGO_URL, logger: logger.child({ module: "mongo" }) });
const coordinator = new Coordinator({ env, mongoUrl: mongo.url, mongoBackend: mongo.backend, logger });

let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) {
    logger.warn({ signal }, "second signal: exiting now");
    process.exit(1);
  }
  stopping = true;
  logger.info({ signal }, "shutting down");
  const deadline = setTimeout(() => {
    logger.error("shutdown deadline passed; exiting");
    process.exit(1);
  }, coordinator.options.transport.shutdownDeadlineMs);
  deadline.unref();
  await coordinator.close();
  await stopTracing().catch((error: unknown) => logger.warn({ err: error }, "flushing traces failed"));
  await mongo.stop();
  process.exit(0);
}
process.once("SIGTERM", () => void stop("SIGTERM"));
process.once("SIGINT", () => void stop("SIGINT"));

try {
  const { url } = await coordinator.start();
  // one machine-readable line for the processes that start us (tests, `gf up`)
  process.stdout.write(`${JSON.stringify({ msg: "GF_COORDINATOR_READY", url })}\n`);
} catch (error) {
  logger.fatal({ err: error }, "coordinator failed to start");
  await coordinator.close();
  await mongo.stop();
  process.exit(1);
}
