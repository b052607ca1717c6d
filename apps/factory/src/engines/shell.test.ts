import { readdirSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { context, drain, groupGone } from "../../test/fixtures/engines/support.js";
import { type TempDir, tempDir } from "../../test/support/temp.js";
import type { EngineEvent } from "./engine.js";
import { isGroupAlive } from "./process.js";
import { shellEngine } from "./shell.js";

let tmp: TempDir;
beforeEach(() => {
  tmp = tempDir("engines-test");
});
afterEach(() => tmp.remove());

const lines = (events: EngineEvent[], stream: string) =>
  events.filter((e) => e.type === "log" && e.data.stream === stream).map((e) => e.data.line);

describe("shell engine", () => {
  it("runs job.command in the workdir and yields each output line as a log event", async () => {
    const run = shellEngine.run(
      context({
        workdir: tmp.path,
        command: "pwd; echo to-err >&2; echo $GF_PROFILE_VAR",
        profile: { env: { GF_PROFILE_VAR: "from-profile" } },
      }),
    );
    const { events, result } = await drain(run);
    expect(result).toMatchObject({ outcome: "success", exit: { code: 0, signal: null }, pid: run.pid });
    expect(lines(events, "stdout")).toEqual([tmp.path, "from-profile"]);
    expect(lines(events, "stderr")).toEqual(["to-err"]);
    expect(result.insights.durationMs).toBeGreaterThanOrEqual(0);
    expect(Object.keys(result.insights)).toEqual(["durationMs"]);
  });

  it("runs a multi-line body as a script, leaving nothing behind in the workdir", async () => {
    const body = ["set -x 2>/dev/null || true", "for i in 1 2 3; do", '  echo "line $i"', "done", "echo done"].join(
      "\n",
    );
    const { events, result } = await drain(shellEngine.run(context({ workdir: tmp.path, bodyMd: body })));
    expect(result.outcome).toBe("success");
    expect(lines(events, "stdout")).toEqual(["line 1", "line 2", "line 3", "done"]);
    expect(readdirSync(tmp.path)).toEqual([]);
  });

  it("stops a script body at the first failing command (-e) and fails", async () => {
    const { events, result } = await drain(
      shellEngine.run(context({ workdir: tmp.path, bodyMd: "echo before\nfalse\necho after\n" })),
    );
    expect(result).toMatchObject({ outcome: "failure", exit: { code: 1 }, reason: "exited with code 1" });
    expect(lines(events, "stdout")).toEqual(["before"]);
  });

  it("fails a script body on a failing pipeline stage and on an unset variable", async () => {
    const pipe = await drain(shellEngine.run(context({ workdir: tmp.path, bodyMd: "false | cat\necho unreachable" })));
    expect(pipe.result.outcome).toBe("failure");
    const unset = await drain(
      shellEngine.run(context({ workdir: tmp.path, bodyMd: 'echo "$NOT_SET_ANYWHERE"\necho unreachable' })),
    );
    expect(unset.result.outcome).toBe("failure");
    expect(lines(unset.events, "stdout")).toEqual([]);
  });

  it("reports a command's non-zero exit as a failure", async () => {
    const { result } = await drain(shellEngine.run(context({ workdir: tmp.path, command: "echo nope; exit 3" })));
    expect(result).toMatchObject({ outcome: "failure", exit: { code: 3 }, reason: "exited with code 3" });
  });

  it("times out, and leaves no process of the group behind", async () => {
    const run = shellEngine.run(context({ workdir: tmp.path, command: "sleep 1000 & sleep 1000", timeoutMs: 300 }));
    const pgid = run.pid ?? -1;
    const { result } = await drain(run);
    expect(result).toMatchObject({ outcome: "timeout", reason: "timed out after 300 ms", exit: { signal: "SIGTERM" } });
    expect(isGroupAlive(pgid)).toBe(false);
    expect(await groupGone(pgid)).toBe(true);
  });

  it("is cancelled by its signal", async () => {
    const controller = new AbortController();
    const run = shellEngine.run(
      context({ workdir: tmp.path, command: "echo started; sleep 1000", signal: controller.signal }),
    );
    const { result } = await drain(run, () => controller.abort());
    expect(result.outcome).toBe("cancelled");
    expect(await groupGone(run.pid ?? -1)).toBe(true);
  });
});
