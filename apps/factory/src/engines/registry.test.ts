import { chmodSync, writeFileSync } from "node:fs";
import { delimiter } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FAKES_DIR } from "../../test/fixtures/engines/support.js";
import { type TempDir, tempDir } from "../../test/support/temp.js";
import { builtInEngines, detectAvailableEngines, engineFor } from "./registry.js";

let tmp: TempDir;
beforeEach(() => {
  tmp = tempDir("engines-test");
});
afterEach(() => tmp.remove());

describe("engine registry", () => {
  it("has the four built-in engines, found by id", () => {
    expect(builtInEngines().map((e) => [e.id, e.binaryName])).toEqual([
      ["shell", "bash"],
      ["claude-code", "claude"],
      ["codex", "codex"],
      ["aider", "aider"],
    ]);
    expect(engineFor("codex")?.binaryName).toBe("codex");
    expect(engineFor("cursor")).toBeUndefined();
  });

  it("detects the agent CLIs on PATH, and always offers shell", async () => {
    const ids = async (path: string | undefined) => (await detectAvailableEngines(path)).map((e) => e.id);
    expect(await ids(FAKES_DIR)).toEqual(["shell", "claude-code", "codex", "aider"]);
    expect(await ids(undefined)).toEqual(["shell"]);
    expect(await ids(["relative/dir", tmp.path].join(delimiter))).toEqual(["shell"]);
  });

  it("only counts executable files", async () => {
    writeFileSync(tmp.file("codex"), "#!/bin/sh\n");
    writeFileSync(tmp.file("aider"), "#!/bin/sh\n");
    chmodSync(tmp.file("aider"), 0o755);
    const found = await detectAvailableEngines(tmp.path);
    expect(found.map((e) => e.id)).toEqual(["shell", "aider"]);
  });
});
