export { startMongo, mongoOptionsFromEnv } from "./launcher.js";
export { redactUrl } from "./redact.js";
export { databaseNameFor } from "./names.js";
export { freePort, isProcessAlive, MongoStartError } from "./process.js";
export type { MongoBackend, MongoHandle, MongoLauncherLogger, StartMongoOptions } from "./types.js";
