import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type TempDir, tempDir } from "../../test/support/temp.js";
import { waitFor } from "../../test/support/wait.js";
import { type OutputLine, spawnGroup } from "../engines/process.js";
import { git } from "../workspace/git.js";
import { detectSandbox, SANDBOX_GID, SANDBOX_UID, type Sandbox, SandboxUnavailableError } from "./sandbox.js";

// Real bubblewrap sandboxes: scripts/test.sh installs Debian's `bubblewrap` when it is missing.
// `GF_TEST_NO_SANDBOX=1` runs the same programs unsandboxed: then the isolation tests fail.
const unsandboxed = process.env.GF_TEST_NO_SANDBOX === "1";
let tmp: TempDir;
let data: string;
let workspace: string;
let sandbox: Sandbox;
const SECRET = `secret-${process.pid}-${Date.now()}`;

beforeEach(() => {
  tmp = tempDir("sandbox-test");
  data = join(tmp.path, "data");
  workspace = join(data, "jobs", "job-1");
  mkdirSync(workspace, { recursive: true });
  const found = detectSandbox({ mode: "auto", protect: [data] });
  if (!found) throw new Error("no sandbox");
  sandbox = found;
});
afterEach(() => tmp.remove());

function run(
  script: string,
  opts: { network?: boolean; timeoutMs?: number; signal?: AbortSignal; path?: string } = {},
) {
  const lines: OutputLine[] = [];
  const proc = spawnGroup({
    file: "bash",
    args: ["-c", script],
    cwd: workspace,
    env: { PATH: opts.path ?? process.env.PATH ?? "/usr/bin:/bin" },
    killGraceMs: 300,
    ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
    ...(opts.signal ? { signal: opts.signal } : {}),
    onLine: (line) => lines.push(line),
    ...(unsandboxed ? {} : { sandbox: sandbox.forJob({ workspace, network: opts.network ?? true }) }),
  });
  return { proc, lines, text: () => lines.map((line) => line.line).join("\n") };
}

/** Host pids of `sleep` processes whose argument starts with `marker`. */
function hostProcesses(marker: string): number[] {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, "utf8").startsWith(`sleep\0${marker}`);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe("the bubblewrap sandbox", () => {
  it("shows a job neither its parent's environment nor the files around its workspace", async () => {
    process.env.GF_SANDBOX_TEST_SECRET = SECRET;
    writeFileSync(join(data, "fleet.json"), JSON.stringify({ token: SECRET }));
    writeFileSync(join(data, "admin.token"), SECRET);
    try {
      const { proc, text } = run(
        [
          "cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n'",
          'dir=$PWD; while [ "$dir" != / ]; do ls -a "$dir"; cat "$dir"/*.token "$dir"/fleet.json 2>/dev/null; dir=$(dirname "$dir"); done',
          `cat ${join(data, "admin.token")} 2>&1`,
          "echo processes: $(ls /proc | grep -c '^[0-9]')",
          "echo work > mine.txt && echo wrote",
        ].join("\n"),
        // a PATH entry holding the protected directory is not mounted
        { path: `${tmp.path}:${process.env.PATH}` },
      );
      expect((await proc.exit).code).toBe(0);
      const out = text();
      expect(out).toContain("wrote");
      expect(readFileSync(join(workspace, "mine.txt"), "utf8")).toBe("work\n");
      expect(out).not.toContain(SECRET);
      expect(out).not.toMatch(/^fleet\.json$|^admin\.token$/m);
      // bwrap's init, bash and the pipeline counting: nothing of the host's
      expect(Number(/processes: (\d+)/.exec(out)?.[1])).toBeLessThan(10);
    } finally {
      delete process.env.GF_SANDBOX_TEST_SECRET;
    }
  });

  it("gives a job without network no way to the coordinator on 127.0.0.1, and one with it a way", async () => {
    await using server: Server = createServer((socket) => {
      // the probe may hang up first: a reset is its business, not an uncaught error here
      socket.on("error", () => undefined);
      socket.end("hello\n");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    if (typeof address !== "object" || address === null) throw new Error("no port");
    const script = `if exec 3<>/dev/tcp/127.0.0.1/${address.port}; then echo connected; else echo refused; fi`;
    const offline = run(script, { network: false });
    await offline.proc.exit;
    expect(offline.text()).toContain("refused");
    const online = run(script, { network: true });
    await online.proc.exit;
    expect(online.text()).toContain("connected");
  });

  it("on timeout kills the sandboxed engine and its children, one ignoring SIGTERM too", async () => {
    const marker = `1000.${process.pid}`;
    const { proc, text } = run(`(trap '' TERM; exec sleep ${marker}1) & sleep ${marker}2 & echo ready; wait`, {
      timeoutMs: 1_500,
    });
    await waitFor("the children", () => text().includes("ready") && hostProcesses(marker).length === 2);
    const exit = await proc.exit;
    expect(exit.reason).toBe("timeout");
    expect(hostProcesses(marker)).toEqual([]);
  });

  it("gives the engine its SIGTERM grace inside the sandbox", async () => {
    const abort = new AbortController();
    const { proc, text } = run("trap 'echo got-term; exit 7' TERM; echo ready; sleep 1000 & wait", {
      signal: abort.signal,
    });
    await waitFor("ready", () => text().includes("ready"));
    abort.abort();
    const exit = await proc.exit;
    expect(exit.reason).toBe("cancelled");
    expect(text()).toContain("got-term");
  });

  it.skipIf(unsandboxed)(
    "runs the job as a non-root user whose files in the workspace stay the factory's",
    async () => {
      expect(sandbox.unprivileged).toBe(true);
      const { proc, text } = run("id -u; id -g; echo mine > owned.txt");
      expect((await proc.exit).code).toBe(0);
      expect(text().split("\n").slice(0, 2)).toEqual([String(SANDBOX_UID), String(SANDBOX_GID)]);
      expect(statSync(join(workspace, "owned.txt")).uid).toBe(process.getuid?.());
    },
  );

  it("keeps the workspace's git metadata read-only, so a job cannot plant config the factory's git would run", async () => {
    await git(workspace, ["init", "-q"]);
    const { proc, text } = run(
      "git config core.fsmonitor 'touch /tmp/pwned' 2>&1 || echo refused; echo x > file.txt && echo wrote",
    );
    await proc.exit;
    expect(text()).toContain("refused");
    expect(text()).toContain("wrote");
    expect(readFileSync(join(workspace, ".git", "config"), "utf8")).not.toContain("fsmonitor");
  });
});

describe("detectSandbox", () => {
  it("returns nothing when the sandbox is turned off explicitly", () => {
    expect(detectSandbox({ mode: "off", protect: [] })).toBeUndefined();
  });

  it("refuses to go on without bubblewrap, naming the opt-out", () => {
    expect(() => detectSandbox({ mode: "auto", protect: [], path: tmp.path })).toThrow(SandboxUnavailableError);
    expect(() => detectSandbox({ mode: "auto", protect: [], path: tmp.path })).toThrow(/--no-sandbox/);
  });
});
