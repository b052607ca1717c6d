import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { userInfo } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { sleep } from "./wait.js";

/** The config an operator deploys (examples/deploy/nginx.conf): the test runs this file, not a copy. */
export const SHIPPED_NGINX_CONF = join(
  dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
  "..",
  "..",
  "examples",
  "deploy",
  "nginx.conf",
);

/** Debian's nginx lives in /usr/sbin, which a non-root PATH may lack. */
function nginxBinary(): string {
  for (const candidate of ["/usr/sbin/nginx", "/usr/bin/nginx"]) if (existsSync(candidate)) return candidate;
  throw new Error("nginx is not installed: scripts/test.sh installs Debian's nginx (apt-get install nginx) as root");
}

/** Free ports on 127.0.0.1 (bound, read, released: the caller binds them next). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const server = createServer();
          server.once("error", reject);
          server.listen(0, "127.0.0.1", () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => {
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("no port");
    return address.port;
  });
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

/**
 * The shipped site config with its upstream servers and listen address replaced. Fails loudly
 * when the shipped file no longer has the lines this rewrites (the test would test nothing).
 */
export function siteConfig(shipped: string, upstreamPorts: number[], listenPort: number): string {
  const servers = [...shipped.matchAll(/^(\s*)server 127\.0\.0\.1:\d+(.*)$/gm)];
  if (servers.length !== upstreamPorts.length) {
    throw new Error(
      `the shipped nginx.conf has ${servers.length} upstream servers, the test wants ${upstreamPorts.length}`,
    );
  }
  let next = 0;
  const withPorts = shipped.replace(
    /^(\s*)server 127\.0\.0\.1:\d+(.*)$/gm,
    (_line, indent: string, rest: string) => `${indent}server 127.0.0.1:${upstreamPorts[next++]}${rest}`,
  );
  if (!/^\s*listen 80;$/m.test(withPorts)) throw new Error("the shipped nginx.conf no longer has `listen 80;`");
  return withPorts.replace(/^(\s*)listen 80;$/m, `$1listen 127.0.0.1:${listenPort};`);
}

export interface NginxProcess {
  url: string;
  pid: number;
  pidFile: string;
  /** nginx's error log, for failure messages. */
  errors(): string;
  /** Graceful stop (SIGQUIT) by the pid in the pid file, SIGKILL after a bound. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts Debian's nginx as the current user with its own prefix, config, temp dirs, logs and pid
 * file under `dir`, in the foreground (a child of the test), listening on 127.0.0.1 only.
 */
export async function startNginx(opts: { dir: string; upstreamPorts: number[] }): Promise<NginxProcess> {
  const binary = nginxBinary();
  const [port] = await freePorts(1);
  if (port === undefined) throw new Error("no free port");
  const { dir } = opts;
  for (const sub of ["logs", "tmp"]) mkdirSync(join(dir, sub), { recursive: true });
  writeFileSync(
    join(dir, "gigafactory.conf"),
    siteConfig(readFileSync(SHIPPED_NGINX_CONF, "utf8"), opts.upstreamPorts, port),
  );
  const pidFile = join(dir, "nginx.pid");
  const errorLog = join(dir, "logs", "error.log");
  const user = userInfo();
  const main = [
    "daemon off;",
    "master_process on;",
    "worker_processes 1;",
    // as root nginx would hand its workers to `nobody`: keep them with the user running the test
    ...(user.uid === 0 ? [`user ${user.username};`] : []),
    `pid ${pidFile};`,
    `error_log ${errorLog} info;`,
    "events { worker_connections 1024; }",
    "http {",
    `  access_log ${join(dir, "logs", "access.log")};`,
    ...["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map(
      (kind) => `  ${kind}_temp_path ${join(dir, "tmp", kind)};`,
    ),
    `  include ${join(dir, "gigafactory.conf")};`,
    "}",
  ].join("\n");
  const conf = join(dir, "nginx.conf");
  writeFileSync(conf, `${main}\n`);
  const child: ChildProcess = spawn(binary, ["-p", dir, "-c", conf, "-e", errorLog], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output: string[] = [];
  child.stdout?.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  const errors = () => {
    const log = existsSync(errorLog) ? readFileSync(errorLog, "utf8") : "";
    return `${output.join("")}${log}`.split("\n").slice(-40).join("\n");
  };
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let gone = false;
  void exited.then(() => {
    gone = true;
  });

  // ready: the pid file names the child and the port accepts connections (bounded)
  let ready = false;
  for (let attempt = 0; attempt < 200 && !gone; attempt++) {
    const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8").trim()) : 0;
    if (pid === child.pid && (await accepts(port))) {
      ready = true;
      break;
    }
    await sleep(50);
  }
  if (!ready) {
    if (!gone) child.kill("SIGKILL");
    throw new Error(`nginx did not start:\n${errors()}`);
  }

  let stopping: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid as number,
    pidFile,
    errors,
    stop() {
      stopping ??= (async () => {
        if (gone) return;
        const pid = Number(readFileSync(pidFile, "utf8").trim());
        const signal = (sig: NodeJS.Signals) => {
          try {
            process.kill(pid, sig);
          } catch {
            // gone already
          }
        };
        signal("SIGQUIT");
        const timer = setTimeout(() => signal("SIGKILL"), 10_000);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
