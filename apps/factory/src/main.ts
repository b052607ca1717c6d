#!/usr/bin/env node
import { homedir } from "node:os";
import { forgetToken, readConfig, USAGE } from "./config.js";
import { FactoryDaemon, StartCancelled } from "./daemon.js";
import { createLogger } from "./logger.js";
import { startTracing } from "./tracing/tracing.js";
import { EXIT_FLUSH_WAIT_MS } from "./options.js";
import { detectSandbox, type Sandbox } from "./sandbox/sandbox.js";

let config: ReturnType<typeof readConfig>;
try {
  config = readConfig(process.argv.slice(2), process.env);
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(2);
}
if (config === "help") {
  process.stdout.write(USAGE);
  process.exit(0);
}

forgetToken(process.env);
if (process.argv.slice(2).some((arg) => arg === "--token" || arg.startsWith("--token="))) {
  process.stderr.write(
    "warning: --token on the command line is visible to every user of this host in the process list; prefer --token-file or GF_TOKEN_FILE\n",
  );
}
const logger = createLogger(config.logLevel);
const stopTracing = await startTracing({ serviceName: "gigafactory-factory", endpoint: config.otlpEndpoint });
let sandbox: Sandbox | undefined;
try {
  // once, at start: jobs never run unsandboxed unless the operator said so
  sandbox = detectSandbox({ mode: config.sandbox, protect: [config.workDir, homedir(), process.cwd()] });
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(2);
}
if (!sandbox) logger.warn("sandbox off (--no-sandbox): engines and verify gates run with this factory's own rights");
else if (!sandbox.unprivileged) logger.warn("no user namespaces: sandboxed jobs run with this factory's user id");
const daemon = new FactoryDaemon(config, logger, process.env, sandbox);
let signals = 0;
const onSignal = (signal: NodeJS.Signals) => {
  signals++;
  if (signals > 1) {
    // the engines' process groups are detached and would outlive us: SIGKILL them, synchronously, first
    daemon.kill();
    logger.warn({ signal }, "second signal: killed every running engine; exiting");
    logger.flush(() => process.exit(1));
    // a log destination that cannot flush (closed stdout) must not keep us alive
    setTimeout(() => process.exit(1), EXIT_FLUSH_WAIT_MS);
    return;
  }
  logger.info({ signal }, "draining before exit (send again to stop at once)");
  void daemon
    .close()
    .then(() => stopTracing().catch(() => undefined))
    .then(() => process.exit(0));
};
process.on("SIGTERM", onSignal);
process.on("SIGINT", onSignal);

try {
  const { factoryId, engines, metricsUrl } = await daemon.start();
  process.stdout.write(
    `${JSON.stringify({ msg: "GF_FACTORY_READY", factoryId, engines, pid: process.pid, ...(metricsUrl ? { metricsUrl } : {}) })}\n`,
  );
} catch (error) {
  if (error instanceof StartCancelled) {
    // a signal while waiting for the coordinator: nothing ran, nothing to drain
    logger.info("stopped before the coordinator answered");
    await daemon.close();
    process.exit(0);
  }
  logger.fatal({ err: error }, "factory failed to start");
  await daemon.close();
  process.exit(1);
}
