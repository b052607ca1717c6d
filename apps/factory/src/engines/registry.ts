import { constants } from "node:fs";
import { access, stat } from "node:fs/promises";
import { delimiter, isAbsolute, join } from "node:path";
import { aiderEngine } from "./aider.js";
import { claudeCodeEngine } from "./claude-code.js";
import { codexEngine } from "./codex.js";
import type { Engine } from "./engine.js";
import { shellEngine } from "./shell.js";

const BUILT_IN: readonly Engine[] = [shellEngine, claudeCodeEngine, codexEngine, aiderEngine];

/** `shell`, `claude-code`, `codex`, `aider`. */
export function builtInEngines(): Engine[] {
  return [...BUILT_IN];
}

/** The built-in engine with this id, if there is one. */
export function engineFor(id: string): Engine | undefined {
  return BUILT_IN.find((engine) => engine.id === id);
}

/**
 * The engines this host can run: those whose binary is an executable file in one of the
 * `PATH` directories. `shell` is always included (bash is a requirement of the factory).
 */
export async function detectAvailableEngines(
  path: string | undefined,
  engines: readonly Engine[] = BUILT_IN,
): Promise<Engine[]> {
  const dirs = (path ?? "").split(delimiter).filter((dir) => dir !== "" && isAbsolute(dir));
  const found = await Promise.all(
    engines.map(async (engine) => engine.id === shellEngine.id || (await onPath(engine.binaryName, dirs))),
  );
  return engines.filter((_, i) => found[i]);
}

async function onPath(binary: string, dirs: readonly string[]): Promise<boolean> {
  for (const dir of dirs) {
    const candidate = join(dir, binary);
    try {
      await access(candidate, constants.X_OK);
      if ((await stat(candidate)).isFile()) return true;
    } catch {
      // not here
    }
  }
  return false;
}
