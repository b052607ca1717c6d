import { readFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { groupGone, processRunning } from "../../test/fixtures/engines/support.js";
import { type TempDir, tempDir } from "../../test/support/temp.js";
import { isGroupAlive, type OutputLine, type SpawnGroupOptions, spawnGroup } from "./process.js";

let tmp: TempDir;
beforeEach(() => {
  tmp = tempDir("engines-test");
});
afterEach(() => tmp.remove());

function bash(script: string, opts: Partial<SpawnGroupOptions> = {}) {
  const lines: OutputLine[] = [];
  const proc = spawnGroup({
    file: "bash",
    args: ["-c", script],
    cwd: tmp.path,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
    killGraceMs: 300,
    onLine: (line) => lines.push(line),
    ...opts,
  });
  return { proc, lines };
}

/** A background process that ignores SIGTERM (the disposition survives exec) and records its pid. */
const stubborn = (pidFile: string) => `(trap '' TERM; exec sleep 1000) & echo $! > ${pidFile}`;

describe("spawnGroup", () => {
  it("streams stdout and stderr line by line and reports the exit code", async () => {
    const { proc, lines } = bash("echo one; echo two >&2; printf 'three'; exit 3");
    const exit = await proc.exit;
    expect(exit).toMatchObject({ code: 3, signal: null, reason: "exited" });
    // The two streams are separate pipes: order is kept within a stream, not across them.
    expect(lines.filter((l) => l.stream === "stdout").map((l) => l.line)).toEqual(["one", "three"]);
    expect(lines.filter((l) => l.stream === "stderr").map((l) => l.line)).toEqual(["two"]);
  });

  it("runs the child as the leader of its own process group", async () => {
    const { proc, lines } = bash("ps -o pgid= -p $$");
    await proc.exit;
    expect(Number(lines[0]?.line.trim())).toBe(proc.pid);
    expect(proc.pid).not.toBe(process.pid);
  });

  it("feeds input on stdin, as a file rather than a socket", async () => {
    const { proc, lines } = bash('cat; test -f /dev/stdin && echo "stdin is a file"', { input: "hello\nworld\n" });
    await proc.exit;
    expect(lines.map((l) => l.line)).toEqual(["hello", "world", "stdin is a file"]);
  });

  it("reports a program that cannot be started", async () => {
    const proc = spawnGroup({
      file: "no-such-program-gf",
      args: [],
      cwd: tmp.path,
      env: { PATH: "/nonexistent" },
      killGraceMs: 100,
      onLine: () => {},
    });
    const exit = await proc.exit;
    expect(proc.pid).toBeUndefined();
    expect(exit.reason).toBe("spawn_error");
    expect(exit.error).toMatch(/ENOENT/);
  });

  it("on timeout kills the whole group, background children included", async () => {
    const { proc } = bash("sleep 1000 & sleep 1000", { timeoutMs: 200 });
    const pgid = proc.pid ?? -1;
    const exit = await proc.exit;
    expect(exit.reason).toBe("timeout");
    expect(exit.signal).toBe("SIGTERM");
    expect(isGroupAlive(pgid)).toBe(false);
    expect(await groupGone(pgid)).toBe(true);
  });

  it("on abort sends SIGTERM, then SIGKILL to a member that ignores SIGTERM", async () => {
    const pidFile = tmp.file("stubborn.pid");
    const controller = new AbortController();
    const { proc } = bash(`${stubborn(pidFile)}; echo armed; wait`, {
      signal: controller.signal,
      onLine: (line) => line.line === "armed" && controller.abort(),
    });
    const pgid = proc.pid ?? -1;
    const exit = await proc.exit;
    expect(exit.reason).toBe("cancelled");
    const grandchild = Number(readFileSync(pidFile, "utf8"));
    expect(processRunning(grandchild)).toBe(false);
    expect(isGroupAlive(pgid)).toBe(false);
    expect(await groupGone(pgid)).toBe(true);
  });

  it("when the leader exits on its own, kills what it left behind in its group", async () => {
    const pidFile = tmp.file("orphan.pid");
    // The orphan keeps stdout open: exit must not wait for the pipe to close by itself.
    const { proc, lines } = bash(`${stubborn(pidFile)}; echo leaving`);
    const pgid = proc.pid ?? -1;
    const exit = await proc.exit;
    expect(exit).toMatchObject({ code: 0, reason: "exited" });
    expect(lines.map((l) => l.line)).toEqual(["leaving"]);
    expect(processRunning(Number(readFileSync(pidFile, "utf8")))).toBe(false);
    expect(await groupGone(pgid)).toBe(true);
  });

  it("does not start anything when the signal is already aborted", async () => {
    const controller = new AbortController();
    controller.abort();
    const { proc, lines } = bash(`echo started > ${tmp.file("started")}`, { signal: controller.signal });
    expect(proc.pid).toBeUndefined();
    expect((await proc.exit).reason).toBe("cancelled");
    expect(lines).toEqual([]);
  });
});

describe("isGroupAlive", () => {
  it("is true for a running group and false once it is gone", async () => {
    const controller = new AbortController();
    const { proc } = bash("sleep 1000", { signal: controller.signal });
    const pgid = proc.pid ?? -1;
    expect(isGroupAlive(pgid)).toBe(true);
    controller.abort();
    await proc.exit;
    expect(isGroupAlive(pgid)).toBe(false);
  });
});
