import { spawnSync } from "node:child_process";
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { delimiter, isAbsolute, join, relative, resolve, sep } from "node:path";

/**
 * Where engines and verify gates run. Under bubblewrap a job sees its workspace (read-write), a
 * private /tmp, its own /proc (only the sandbox's processes), the system's programs and libraries
 * read-only, the directories on its PATH read-only and its engine's config in HOME read-only; never the
 * factory's data directory, the fleet directory, the rest of HOME or the factory's environment.
 */
export interface Sandbox {
  readonly kind: "bwrap";
  /** Whether jobs run as a non-root user ({@link SANDBOX_UID}) in their own user namespace. */
  readonly unprivileged: boolean;
  /** The sandbox of one job's attempt. */
  forJob(scope: { workspace: string; network: boolean }): JobSandbox;
}

export interface JobSandbox {
  /** The program and arguments that run `file args` inside the sandbox, with `env` as the whole environment. */
  wrap(
    command: { file: string; args: readonly string[]; cwd: string; env: Record<string, string> },
    extra?: SandboxExtras,
  ): { file: string; args: string[] };
}

export interface SandboxExtras {
  /** Files or folders outside the workspace the program reads (e.g. the job's script in a temp dir). */
  readOnly?: readonly string[];
  /** The engine's own config, relative to HOME (e.g. `.claude`), visible read-only when it exists ({@link configMounts}). */
  homePaths?: readonly string[];
}

/** `auto` requires a working sandbox; `off` is the explicit opt-out (`--no-sandbox`, `GF_SANDBOX=off`). */
export type SandboxMode = "auto" | "off";

/** Top-level system folders, visible read-only (merged-/usr symlinks are recreated as symlinks). */
const SYSTEM_DIRS = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/opt"];
/** The /etc files programs need to run, resolve names, verify TLS and find Debian's alternatives; no secrets. */
const ETC_PATHS = [
  "/etc/alternatives",
  "/etc/ca-certificates",
  "/etc/ca-certificates.conf",
  "/etc/gai.conf",
  "/etc/gitconfig",
  "/etc/group",
  "/etc/host.conf",
  "/etc/hostname",
  "/etc/hosts",
  "/etc/ld.so.cache",
  "/etc/ld.so.conf",
  "/etc/ld.so.conf.d",
  "/etc/localtime",
  "/etc/mime.types",
  "/etc/nsswitch.conf",
  "/etc/os-release",
  "/etc/passwd",
  "/etc/pki",
  "/etc/protocols",
  "/etc/resolv.conf",
  "/etc/services",
  "/etc/ssl",
];

/**
 * The uid and gid a job's programs run as inside the sandbox's user namespace (mapped to the
 * factory's own ids outside, so what they write in the workspace stays the factory's). Never 0:
 * agent CLIs refuse to skip their permission prompts as root (Claude Code:
 * "--dangerously-skip-permissions cannot be used with root/sudo privileges"), and a job has no
 * business being root, even a namespaced one.
 */
export const SANDBOX_UID = 1000;
export const SANDBOX_GID = 1000;
const USER_NAMESPACE = ["--unshare-user", "--uid", String(SANDBOX_UID), "--gid", String(SANDBOX_GID)];

export class SandboxUnavailableError extends Error {}

/**
 * Finds out once, at start, whether engines can be sandboxed here: `bwrap` on PATH and able to
 * create its namespaces. Throws {@link SandboxUnavailableError} when not, unless `mode` is `off`,
 * which returns undefined (the caller logs the warning).
 */
export function detectSandbox(opts: {
  mode: SandboxMode;
  /** Never visible to a job, nor any folder holding them (the factory's work dir, HOME, its cwd). */
  protect: readonly string[];
  path?: string;
}): Sandbox | undefined {
  if (opts.mode === "off") return undefined;
  const bwrap = findOnPath("bwrap", opts.path ?? process.env.PATH ?? "");
  if (!bwrap) {
    throw new SandboxUnavailableError(
      "no sandbox: bubblewrap (bwrap) is not installed (Debian: apt-get install bubblewrap). " +
        "Engines would run with the factory's own rights; start with --no-sandbox (GF_SANDBOX=off) to accept that.",
    );
  }
  const probeArgs = ["--ro-bind", "/", "/", "--unshare-pid", "--proc", "/proc", "true"];
  // a user namespace makes the job unprivileged; a setuid bwrap on a host without them still isolates
  const userns = spawnSync(bwrap, [...USER_NAMESPACE, ...probeArgs], { timeout: 10_000 }).status === 0;
  const probe = spawnSync(bwrap, probeArgs, { encoding: "utf8", timeout: 10_000 });
  if (probe.status !== 0) {
    const why = (probe.stderr || probe.error?.message || `exit ${probe.status ?? probe.signal}`).trim();
    throw new SandboxUnavailableError(
      `no sandbox: ${bwrap} cannot create namespaces here (${why}). ` +
        "Allow unprivileged user namespaces, or start with --no-sandbox (GF_SANDBOX=off) to run engines unsandboxed.",
    );
  }
  // `env --ignore-signal` (coreutils >= 8.31) lets bwrap outlive the group's SIGTERM so the engine gets its grace
  const env = findOnPath("env", "/usr/bin:/bin");
  const graceful =
    env !== undefined &&
    spawnSync(env, ["--ignore-signal=TERM", "--default-signal=TERM", "true"], { timeout: 10_000 }).status === 0;
  return new Bubblewrap(
    bwrap,
    opts.protect.map((path) => resolve(path)),
    graceful ? env : undefined,
    userns,
  );
}

class Bubblewrap implements Sandbox {
  readonly kind = "bwrap";
  constructor(
    private readonly bwrap: string,
    private readonly protect: readonly string[],
    /** `env` when it can ignore and restore SIGTERM (coreutils >= 8.31). */
    private readonly env: string | undefined,
    /** Whether jobs run as {@link SANDBOX_UID} in their own user namespace. */
    readonly unprivileged: boolean,
  ) {}

  forJob(scope: { workspace: string; network: boolean }): JobSandbox {
    return { wrap: (command, extra) => this.wrap(scope, command, extra ?? {}) };
  }

  private wrap(
    scope: { workspace: string; network: boolean },
    command: { file: string; args: readonly string[]; cwd: string; env: Record<string, string> },
    extra: SandboxExtras,
  ): { file: string; args: string[] } {
    const workspace = resolve(scope.workspace);
    const args: string[] = [
      "--die-with-parent",
      ...(this.unprivileged ? USER_NAMESPACE : []),
      "--unshare-pid",
      "--unshare-ipc",
      "--unshare-uts",
      "--unshare-cgroup-try",
      ...(scope.network ? [] : ["--unshare-net"]),
      "--cap-drop",
      "ALL",
      "--proc",
      "/proc",
      "--dev",
      "/dev",
      "--tmpfs",
      "/tmp",
      "--tmpfs",
      "/var/tmp",
    ];
    for (const dir of SYSTEM_DIRS) args.push(...systemMount(dir));
    for (const path of ETC_PATHS) args.push("--ro-bind-try", path, path);
    // what the engine runs: its PATH and an explicitly named program
    for (const dir of (command.env.PATH ?? "").split(delimiter)) {
      if (this.visible(dir)) args.push("--ro-bind", dir, dir);
    }
    if (isAbsolute(command.file) && this.visible(command.file)) args.push("--ro-bind", command.file, command.file);
    for (const path of extra.readOnly ?? []) if (this.visible(path)) args.push("--ro-bind", path, path);
    const home = command.env.HOME;
    if (home && isAbsolute(home)) {
      // a private, empty, writable HOME: agent CLIs keep state there (Claude Code's ~/.claude.json)
      if (resolve(home) !== "/" && !isInside(resolve(home), workspace) && resolve(home) !== workspace) {
        args.push("--tmpfs", resolve(home));
      }
      for (const name of extra.homePaths ?? []) {
        const path = resolve(home, name);
        if (path.startsWith(`${resolve(home)}${sep}`) && existsSync(path)) args.push(...configMounts(path));
      }
    }
    args.push("--bind", workspace, workspace);
    args.push(...gitMounts(workspace, (path) => this.visible(path)));
    args.push("--chdir", resolve(command.cwd));
    // bwrap ignores the group's SIGTERM, so the engine (SIGTERM restored) has its grace; SIGKILL reaches all
    const inner = this.env ? [this.env, "--default-signal=TERM", command.file] : [command.file];
    args.push("--", ...inner, ...command.args);
    // the engine's environment is bwrap's own (spawned with exactly it), never argv: /proc/<pid>/cmdline is world-readable
    return this.env
      ? { file: this.env, args: ["--ignore-signal=TERM", this.bwrap, ...args] }
      : { file: this.bwrap, args };
  }

  /** An absolute, existing path that neither is nor holds a protected one (the work dir, HOME, the factory's cwd). */
  private visible(path: string): boolean {
    if (!path || !isAbsolute(path) || !existsSync(path)) return false;
    const abs = resolve(path);
    return !this.protect.some((secret) => secret === abs || isInside(secret, abs));
  }
}

/**
 * The operator's engine config, readable but never the job's to rewrite: a file is bound
 * read-only; a folder is made anew (writable, in the private HOME, so the CLI can keep its
 * sessions and logs) holding its top-level files bound read-only — not its subfolders (history,
 * caches), which the CLI recreates empty.
 */
export function configMounts(path: string): string[] {
  if (!statSync(path).isDirectory()) return ["--ro-bind", path, path];
  const mounts = ["--dir", path];
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    if (entry.isFile()) mounts.push("--ro-bind", join(path, entry.name), join(path, entry.name));
  }
  return mounts;
}

function systemMount(dir: string): string[] {
  let stat: ReturnType<typeof lstatSync>;
  try {
    stat = lstatSync(dir);
  } catch {
    return [];
  }
  if (stat.isSymbolicLink()) return ["--symlink", readlinkSync(dir), dir];
  return stat.isDirectory() ? ["--ro-bind", dir, dir] : [];
}

/**
 * The workspace's git metadata, read-only: a job must not change the config or hooks that the
 * factory's own git runs with after the engine (core.fsmonitor, hooks, diff drivers would run
 * outside the sandbox). For a worktree that is the repository's git dir; for a plain workspace,
 * its `.git` folder.
 */
function gitMounts(workspace: string, visible: (path: string) => boolean): string[] {
  const dotGit = join(workspace, ".git");
  let stat: ReturnType<typeof lstatSync>;
  try {
    stat = lstatSync(dotGit);
  } catch {
    return [];
  }
  if (stat.isDirectory()) return ["--ro-bind", dotGit, dotGit];
  if (!stat.isFile()) return [];
  const mounts = ["--ro-bind", dotGit, dotGit];
  const match = /^gitdir:\s*(.+)$/m.exec(readFileSync(dotGit, "utf8"));
  if (!match?.[1]) return mounts;
  const gitDir = resolve(workspace, match[1].trim());
  let common = gitDir;
  try {
    common = resolve(gitDir, readFileSync(join(gitDir, "commondir"), "utf8").trim());
  } catch {
    // not a linked worktree: the git dir is all there is
  }
  for (const dir of new Set([common, gitDir])) {
    if (visible(dir) && statSync(dir).isDirectory()) mounts.push("--ro-bind", dir, dir);
  }
  return mounts;
}

function isInside(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel);
}

function findOnPath(name: string, path: string): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}
