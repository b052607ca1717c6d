import pino, { type Logger } from "pino";

export type { Logger };

export function createLogger(level: string): Logger {
  const options = { name: "factory", level, redact: { paths: ["token", "*.token"], censor: "[redacted]" } };
  if (process.stdout.isTTY)
    return pino({ ...options, transport: { target: "pino-pretty", options: { colorize: true } } });
  // asynchronous, and deaf to EPIPE: a synchronous write to a closed stdout retries forever and blocks
  // the event loop, so the daemon could not even drain on SIGTERM
  const destination = pino.destination({ dest: 1, sync: false });
  destination.on("error", () => undefined);
  return pino(options, destination);
}
