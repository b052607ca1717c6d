import pino, { type Logger } from "pino";

export type { Logger };

export function createLogger(level: string): Logger {
  return pino({
    name: "factory",
    level,
    redact: { paths: ["token", "*.token"], censor: "[redacted]" },
    ...(process.stdout.isTTY ? { transport: { target: "pino-pretty", options: { colorize: true } } } : {}),
  });
}
