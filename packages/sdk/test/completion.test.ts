import { execFileSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CliContext } from "../src/cli/context.js";
import { buildProgram } from "../src/cli/program.js";
import { runGf } from "./support/run-gf.js";

/** The commands the CLI has, read from its commander tree (what the scripts must offer). */
function topLevelCommands(): string[] {
  const ctx = new CliContext({ stdout: process.stdout, stderr: process.stderr, env: {}, cwd: process.cwd() });
  return buildProgram(ctx)
    .commands.map((command) => command.name())
    .filter((name) => name !== "help");
}

function has(shell: string): boolean {
  try {
    execFileSync(shell, ["-c", "exit 0"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

describe("gf completion", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "gf-completion-"));
    await writeFile(join(dir, "hello.md"), "---\nengine: shell\n---\necho hi\n");
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  /** What bash offers after the words typed (the last one is being completed), with the script loaded. */
  async function bashOffers(script: string, words: string[]): Promise<string[]> {
    const file = join(dir, "gf.bash");
    await writeFile(file, script);
    const program = `source ${JSON.stringify(file)}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${
      words.length - 1
    }; _gf_completion; printf '%s\\n' "\${COMPREPLY[@]}"`;
    return execFileSync("bash", ["-c", program], { cwd: dir, encoding: "utf8" }).split("\n").filter(Boolean).sort();
  }

  it("bash: offers commands, subcommands, options and, where a command takes files, file names", async () => {
    const result = await runGf(["completion", "bash"]);
    expect(result.code).toBe(0);
    const script = result.stdout;
    expect(await bashOffers(script, ["gf", ""])).toEqual(topLevelCommands().sort());
    expect(await bashOffers(script, ["gf", "pro"])).toEqual(["profiles"]);
    expect(await bashOffers(script, ["gf", "profiles", ""])).toEqual(["list", "publish", "show"]);
    expect(await bashOffers(script, ["gf", "--url", "http://127.0.0.1:1", "--token", "t", "tok"])).toEqual(["token"]);
    expect(await bashOffers(script, ["gf", "up", "--po"])).toEqual(["--port"]);
    expect(await bashOffers(script, ["gf", "submit", "--wait", "hel"])).toEqual(["hello.md"]);
  });

  it.skipIf(!has("zsh"))("zsh: the script loads", async () => {
    const result = await runGf(["completion", "zsh"]);
    const file = join(dir, "_gf");
    await writeFile(file, result.stdout);
    execFileSync("zsh", ["-f", "-c", `source ${JSON.stringify(file)}`], { cwd: dir });
  });

  it("fish: names every command with its description", async () => {
    const result = await runGf(["completion", "fish"]);
    expect(result.code).toBe(0);
    for (const name of topLevelCommands())
      expect(result.stdout).toMatch(new RegExp(`^complete -c gf -f -n '__fish_use_subcommand' -a '${name}' -d '`, "m"));
    if (has("fish")) {
      const file = join(dir, "gf.fish");
      await writeFile(file, result.stdout);
      const offered = execFileSync("fish", ["-c", `source ${JSON.stringify(file)}; complete -C 'gf profiles '`], {
        cwd: dir,
        encoding: "utf8",
      });
      expect(
        offered
          .split("\n")
          .map((line) => line.split("\t")[0])
          .filter(Boolean)
          .sort(),
      ).toEqual(["list", "publish", "show"]);
    }
  });

  it("refuses an unknown shell with exit 2", async () => {
    const result = await runGf(["completion", "powershell"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('no completion for "powershell"');
  });
});
