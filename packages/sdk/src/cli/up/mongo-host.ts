/**
 * Runs the local MongoDB for `gf up` as a process of its own (started by `gf up` in its own
 * process group), so that a Ctrl-C in the terminal does not reach the database: `gf up`
 * stops it last, after the factories and the coordinator. Reads GF_MONGO_MODULE (the entry
 * file of `@gigafactory/devdb`) and GF_MONGO_URL; prints one GF_MONGO_READY JSON line.
 * Stops the database on SIGTERM, SIGINT or when its stdin closes.
 */
import { pathToFileURL } from "node:url";

type MongoModule = typeof import("@gigafactory/devdb");

const modulePath = process.env.GF_MONGO_MODULE;
if (!modulePath) {
  process.stderr.write("mongo-host: GF_MONGO_MODULE is not set\n");
  process.exit(2);
}
const { startMongo, mongoOptionsFromEnv } = (await import(pathToFileURL(modulePath).href)) as MongoModule;
const log = (level: string) => (obj: Record<string, unknown>, msg: string) =>
  process.stdout.write(`${JSON.stringify({ level, time: Date.now(), msg, ...obj })}\n`);
const mongo = await startMongo({
  ...mongoOptionsFromEnv(process.env),
  logger: { info: log("info"), warn: log("warn"), debug: () => {} },
});

// the database process is unref'd by the launcher: this keeps us alive until told to stop
const keepAlive = setInterval(() => {}, 1 << 30);
let stopping = false;
function stop(): void {
  if (stopping) return;
  stopping = true;
  void mongo
    .stop()
    .catch((error: unknown) => {
      process.stderr.write(`mongo-host: stop failed: ${String(error)}\n`);
    })
    .finally(() => {
      clearInterval(keepAlive);
      process.exit(0);
    });
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
process.stdout.write(
  `${JSON.stringify({
    msg: "GF_MONGO_READY",
    url: mongo.url,
    backend: mongo.backend,
    pid: mongo.pid ?? null,
    describe: mongo.describe(),
    source: mongo.source ?? mongo.backend,
    skipped: mongo.skipped ?? [],
  })}\n`,
);
