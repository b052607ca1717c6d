import pino, { type Logger } from "pino";

export type { Logger };

/** One root logger per process; modules take `logger.child({ module })`. */
export function createLogger(opts: { level: string; pretty: boolean; name?: string }): Logger {
  const usePretty = opts.pretty && process.stdout.isTTY;
  return pino({
    name: opts.name ?? "coordinator",
    level: opts.level,
    // never log bearer tokens, wherever they turn up
    redact: { paths: ["token", "*.token", "headers.authorization", "req.headers.authorization"], censor: "[redacted]" },
    ...(usePretty ? { transport: { target: "pino-pretty", options: { colorize: true } } } : {}),
  });
}
