import { existsSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

import { detectSandbox } from "../../src/sandbox/sandbox.js";

const require = createRequire(import.meta.url);

/**
 * The real agent CLIs this package pins as dev dependencies, resolved to their native programs
 * (the npm wrappers are scripts that look for their platform package; inside the sandbox only
 * the directories on PATH are visible, so the factory gets each program's own directory).
 */
export interface RealClis {
  /** A PATH for the factory: a folder of `claude`/`codex` links, then their real folders and the system's. */
  path: string;
  claude: string;
  codex: string;
  remove(): void;
}

export function claudeProgram(): string {
  const pkg = dirname(require.resolve("@anthropic-ai/claude-code/package.json"));
  return realpathSync(join(pkg, "bin", "claude.exe"));
}

export function codexProgram(): string {
  const triple = process.arch === "arm64" ? "aarch64-unknown-linux-musl" : "x86_64-unknown-linux-musl";
  const wrapper = dirname(require.resolve("@openai/codex/package.json"));
  const platform = dirname(
    createRequire(join(wrapper, "bin", "codex.js")).resolve(
      `@openai/codex-linux-${process.arch === "arm64" ? "arm64" : "x64"}/package.json`,
    ),
  );
  return realpathSync(join(platform, "vendor", triple, "bin", "codex"));
}

/**
 * Whether a factory here runs engines as a non-root user: not root, or a sandbox with a user
 * namespace. Otherwise the real claude refuses its permission flag and the contract cannot hold.
 */
export function canRunUnprivileged(): { ok: true } | { ok: false; why: string } {
  if (process.getuid?.() !== 0) return { ok: true };
  try {
    if (detectSandbox({ mode: "auto", protect: [] })?.unprivileged) return { ok: true };
    return { ok: false, why: "running as root and bubblewrap cannot create a user namespace here" };
  } catch (error) {
    return { ok: false, why: error instanceof Error ? error.message : String(error) };
  }
}

export function realClis(): RealClis {
  const links = mkdtempSync(join(tmpdir(), "gf-real-clis-"));
  const claude = claudeProgram();
  const codex = codexProgram();
  for (const [name, target] of [
    ["claude", claude],
    ["codex", codex],
  ] as const) {
    if (!existsSync(target)) throw new Error(`${name} is not installed at ${target}: run pnpm install`);
    symlinkSync(target, join(links, name));
  }
  const path = [links, dirname(claude), dirname(codex), "/usr/local/bin", "/usr/bin", "/bin"].join(":");
  return { path, claude, codex, remove: () => rmSync(links, { recursive: true, force: true }) };
}
