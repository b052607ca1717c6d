export { FactoryDaemon } from "./daemon.js";
export { FactoryConfig, readConfig } from "./config.js";
export * from "./engines/index.js";
