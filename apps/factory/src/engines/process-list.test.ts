import { existsSync, readFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { context, drain, fakeBinary } from "../../test/fixtures/engines/support.js";
import { type TempDir, tempDir } from "../../test/support/temp.js";
import { waitFor } from "../../test/support/wait.js";
import { aiderEngine } from "./aider.js";
import { claudeCodeEngine } from "./claude-code.js";
import { codexEngine } from "./codex.js";
import type { Engine } from "./engine.js";
import { shellEngine } from "./shell.js";

// The process list is world-readable (/proc/<pid>/cmdline): a job's prompt, or its command,
// must not appear in the command line of the engine while it runs.

let tmp: TempDir;
beforeEach(() => {
  tmp = tempDir("process-list-test");
});
afterEach(() => tmp.remove());

const SECRET = "prompt-text-4f1c9a nobody else may read";

function cmdline(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
}

describe.each<[string, Engine, "claude" | "codex" | "aider"]>([
  ["claude-code", claudeCodeEngine, "claude"],
  ["codex", codexEngine, "codex"],
  ["aider", aiderEngine, "aider"],
])("%s engine", (_name, engine, fake) => {
  it("keeps a short prompt out of the running engine's command line", async () => {
    const controller = new AbortController();
    const argvFile = tmp.file("argv.json");
    const run = engine.run(
      context({
        workdir: tmp.path,
        binary: fakeBinary(fake),
        bodyMd: SECRET,
        signal: controller.signal,
        env: { FAKE_MODE: "hang", FAKE_ARGV_FILE: argvFile },
      }),
    );
    const done = drain(run);
    try {
      await waitFor("the fake engine to start", () => existsSync(argvFile));
      const pid = run.pid ?? -1;
      expect(cmdline(pid)).toContain(fakeBinary(fake));
      expect(cmdline(pid)).not.toContain("prompt-text-4f1c9a");
    } finally {
      controller.abort();
      await done;
    }
  });
});

describe("shell engine", () => {
  it("keeps job.command out of the running shell's command line", async () => {
    const controller = new AbortController();
    const run = shellEngine.run(
      context({
        workdir: tmp.path,
        command: `echo started; sleep 1000 # ${SECRET}`,
        signal: controller.signal,
      }),
    );
    let started = false;
    const done = drain(run, () => {
      started = true;
    });
    try {
      await waitFor("the command to print", () => started);
      const pid = run.pid ?? -1;
      expect(cmdline(pid)).toContain("bash");
      expect(cmdline(pid)).not.toContain("prompt-text-4f1c9a");
    } finally {
      controller.abort();
      await done;
    }
  });
});
