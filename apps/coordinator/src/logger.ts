import pino, { type Logger } from "pino";

export type { Logger };

/** One root logger per process; modules take `logger.child({ module })`. */
export function createLogger(opts: { level: string; pretty: boolean; name?: string }): Logger {
  const options = {
    name: opts.name ?? "coordinator",
    level: opts.level,
    // never log bearer tokens, wherever they turn up
    redact: { paths: ["token", "*.token", "headers.authorization", "req.headers.authorization"], censor: "[redacted]" },
  };
  if (opts.pretty && process.stdout.isTTY)
    return pino({ ...options, transport: { target: "pino-pretty", options: { colorize: true } } });
  // asynchronous and deaf to EPIPE: a closed stdout must not block the event loop
  const destination = pino.destination({ dest: 1, sync: false });
  destination.on("error", () => undefined);
  return pino(options, destination);
}
