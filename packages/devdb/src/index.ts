export { startMongo, mongoOptionsFromEnv } from "./launcher.js";
export { redactUrl } from "./redact.js";
export { databaseNameFor } from "./names.js";
export { freePort, isProcessAlive, MongoStartError } from "./process.js";
export { MEMORY_SERVER_MONGOD_VERSION } from "./memory-server.js";
export type { MongoBackend, MongoHandle, MongoLauncherLogger, MongoSource, StartMongoOptions } from "./types.js";
