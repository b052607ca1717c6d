/**
 * How this `gf` was started, so next-step hints use a spelling that works where the user is.
 * Inside the Gigafactory repository the CLI runs as the root `gf` script (`pnpm gf …`): the
 * package manager runs it from the repository root, so the folder it was typed in is INIT_CWD.
 */
export interface Invocation {
  /** The folder the user typed the command in. */
  cwd: string;
  /** How to spell `gf` in a hint: `gf` (installed bin) or `pnpm gf` (the repository's script). */
  self: string;
}

export function detectInvocation(env: Readonly<Record<string, string | undefined>>, processCwd: string): Invocation {
  const initCwd = env.INIT_CWD?.trim();
  if (env.npm_lifecycle_event === "gf" && initCwd) {
    const runner = env.npm_config_user_agent?.startsWith("npm/") ? "npm run gf --" : "pnpm gf";
    return { cwd: initCwd, self: runner };
  }
  return { cwd: processCwd, self: "gf" };
}
