import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import type { Readable } from "node:stream";

/** Keeps the last `limit` characters written to a stream, for error messages. */
export class OutputTail {
  #text = "";

  constructor(private readonly limit = 8192) {}

  attach(stream: Readable | null): this {
    stream?.setEncoding("utf8");
    stream?.on("data", (chunk: string) => {
      this.#text = (this.#text + chunk).slice(-this.limit);
    });
    return this;
  }

  toString(): string {
    return this.#text.trim();
  }
}

/** Thrown when a server process does not come up; carries its output tail. */
export class MongoStartError extends Error {
  override readonly name = "MongoStartError";

  constructor(
    message: string,
    readonly output: string,
  ) {
    super(output ? `${message}\n--- output ---\n${output}` : message);
  }
}

/**
 * Resolves with the first line of `child.stdout` that starts with `prefix`
 * (without the prefix); rejects if the child exits first or `timeoutMs` passes.
 */
export function waitForLine(
  child: ChildProcess,
  opts: { prefix: string; timeoutMs: number; what: string; output: OutputTail },
): Promise<string> {
  const { prefix, timeoutMs, what, output } = opts;
  const stdout = child.stdout;
  if (!stdout) return Promise.reject(new Error(`${what}: stdout is not piped`));
  return new Promise((resolve, reject) => {
    let buffered = "";
    const cleanup = (): void => {
      clearTimeout(timer);
      stdout.off("data", onData);
      child.off("exit", onExit);
      child.off("error", onError);
    };
    const onData = (chunk: string): void => {
      buffered += chunk;
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      const hit = lines.find((line) => line.startsWith(prefix));
      if (hit !== undefined) {
        cleanup();
        resolve(hit.slice(prefix.length).trim());
      }
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      cleanup();
      reject(
        new MongoStartError(`${what} exited before it was ready (code ${code}, signal ${signal})`, output.toString()),
      );
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(new MongoStartError(`${what} could not be started: ${err.message}`, output.toString()));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new MongoStartError(`${what} was not ready within ${timeoutMs} ms`, output.toString()));
    }, timeoutMs);
    stdout.setEncoding("utf8");
    stdout.on("data", onData);
    child.once("exit", onExit);
    child.once("error", onError);
  });
}

/** Resolves `true` once `child` has exited, `false` if `timeoutMs` passes first. */
export function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off("exit", onExit);
      resolve(false);
    }, timeoutMs);
    const onExit = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    child.once("exit", onExit);
  });
}

/** Asks politely (SIGTERM), then SIGKILLs after `graceMs`; resolves once the child is gone. */
export async function terminate(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  if (await waitForExit(child, graceMs)) return;
  child.kill("SIGKILL");
  await waitForExit(child, graceMs);
}

// One 'exit' listener for all children, instead of one per child, so starting
// many servers in one process does not trip MaxListenersExceededWarning.
const exitCleanups = new Set<() => void>();
let exitListenerInstalled = false;

/**
 * Runs `cleanup` synchronously if this Node process exits before the returned
 * unregister function is called. Only synchronous work happens in 'exit'.
 */
export function onProcessExit(cleanup: () => void): () => void {
  if (!exitListenerInstalled) {
    exitListenerInstalled = true;
    process.once("exit", () => {
      for (const fn of exitCleanups) {
        try {
          fn();
        } catch {
          // Keep going: every other child still has to be killed.
        }
      }
    });
  }
  exitCleanups.add(cleanup);
  return () => {
    exitCleanups.delete(cleanup);
  };
}

/**
 * Lets this Node process exit while the child runs (the child's own stdin-EOF
 * watch then takes it down), instead of hanging on a forgotten `stop()`.
 */
export function unrefChild(child: ChildProcess): void {
  child.unref();
  for (const stream of [child.stdin, child.stdout, child.stderr]) {
    // Pipes are net.Sockets at run time; the public types only say Readable/Writable.
    const socket = stream as unknown as { unref?: () => void } | null;
    socket?.unref?.();
  }
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error("could not get a free port"))));
    });
  });
}

/**
 * Whether `pid` is a live process. A zombie (exited, not yet reaped by its
 * parent, e.g. when PID 1 does not reap orphans) counts as gone.
 */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
  try {
    // /proc/<pid>/stat: "pid (comm) S ..."; comm may contain spaces or ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    // On Linux a missing /proc entry means it exited in between; elsewhere
    // there is no procfs and signal 0 succeeding is all we know.
    return process.platform !== "linux";
  }
}
