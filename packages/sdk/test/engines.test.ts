import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EngineReport } from "../src/cli/commands/engines.js";
import { parseJson, runGf } from "./support/run-gf.js";

let bin: string;

beforeAll(async () => {
  bin = await mkdtemp(join(tmpdir(), "gf-engines-"));
  // a program named like the engine's binary: `gf engines` asks it `--version`, as it would the real one
  await writeFile(join(bin, "claude"), "#!/bin/sh\necho '9.9.9 (Claude Code)'\n");
  await chmod(join(bin, "claude"), 0o755);
  await writeFile(join(bin, "codex"), "#!/bin/sh\nexit 3\n");
  await chmod(join(bin, "codex"), 0o755);
});
afterAll(async () => {
  await rm(bin, { recursive: true, force: true });
});

describe("gf engines", () => {
  it("lists the engines on PATH with their versions and what each needs, never a key's value", async () => {
    const result = await runGf(["engines", "--json"], {
      env: { PATH: `${bin}:/usr/bin:/bin`, ANTHROPIC_API_KEY: "sk-secret-value", ANTHROPIC_BASE_URL: "" },
    });
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain("sk-secret-value");
    const reports = parseJson<EngineReport[]>(result);
    const byId = new Map(reports.map((report) => [report.id, report]));
    expect([...byId.keys()]).toEqual(["shell", "claude-code", "codex", "aider"]);
    expect(byId.get("claude-code")).toMatchObject({
      available: true,
      path: join(bin, "claude"),
      version: "9.9.9 (Claude Code)",
      versionTested: "2.1.328",
      apiKeyEnv: [{ name: "ANTHROPIC_API_KEY", set: true }],
      baseUrlEnv: [{ name: "ANTHROPIC_BASE_URL", value: null }],
    });
    // on PATH but its --version fails: offered, version unknown
    expect(byId.get("codex")).toMatchObject({ available: true, version: null });
    expect(byId.get("aider")).toMatchObject({ available: false, path: null, version: null });
    expect(byId.get("shell")?.available).toBe(true);
  });

  it("prints one line per engine without --json", async () => {
    const result = await runGf(["engines"], { env: { PATH: `${bin}:/usr/bin:/bin` } });
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split("\n");
    expect(lines.map((line) => line.split("\t").slice(0, 3))).toEqual([
      ["shell", "available", expect.stringContaining("bash")],
      ["claude-code", "available", "9.9.9 (Claude Code)"],
      ["codex", "available", "-"],
      ["aider", "missing", "-"],
    ]);
  });
});
