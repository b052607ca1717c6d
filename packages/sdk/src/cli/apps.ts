import { access, readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { CliError, EXIT } from "./errors.js";

/** The two apps `gf` can start; the SDK itself never imports them. */
export const APPS = {
  coordinator: { pkg: "@gigafactory/coordinator", bin: "gf-coordinator", env: "GF_COORDINATOR_MAIN" },
  factory: { pkg: "@gigafactory/factory", bin: "gf-factory", env: "GF_FACTORY_MAIN" },
} as const;
export type AppName = keyof typeof APPS;

export interface ResolvedApp {
  name: AppName;
  /** The package folder; undefined when the main came from GF_*_MAIN. */
  packageDir: string | undefined;
  /** The script to run with `node`. */
  main: string;
}

/** This package's folder (dist/cli → ../..). */
const SDK_DIR = fileURLToPath(new URL("../../", import.meta.url));

/**
 * Finds an app's entry script: `GF_COORDINATOR_MAIN` / `GF_FACTORY_MAIN` when set, else the
 * package resolved from the SDK, else from the current directory's node_modules, else a
 * sibling in this pnpm workspace (`apps/<name>`). Throws a usage-level error saying how to
 * install or build it.
 */
export async function resolveApp(
  name: AppName,
  opts: { cwd: string; env: Readonly<Record<string, string | undefined>> },
): Promise<ResolvedApp> {
  const app = APPS[name];
  const override = opts.env[app.env]?.trim();
  if (override) {
    const main = resolve(opts.cwd, override);
    if (!(await exists(main))) throw new CliError(`${app.env}=${override}: no such file`, EXIT.notFound);
    return { name, packageDir: undefined, main };
  }
  const packageDir =
    (await fromImportResolve(app.pkg)) ??
    (await fromNodeModules(app.pkg, [SDK_DIR, opts.cwd])) ??
    (await fromWorkspace(name, app.pkg));
  if (!packageDir) {
    throw new CliError(
      `${app.pkg} is not installed: \`gf ${name === "coordinator" ? "coordinator" : "factory"}\` and \`gf up\` run the Gigafactory apps, which the SDK does not bring along.\n` +
        `Install it next to the SDK (npm install ${app.pkg}), or point ${app.env} at its dist/main.js.`,
      EXIT.notFound,
    );
  }
  const manifest = JSON.parse(await readFile(join(packageDir, "package.json"), "utf8")) as {
    bin?: Record<string, string> | string;
  };
  const bin = typeof manifest.bin === "string" ? manifest.bin : (manifest.bin?.[app.bin] ?? "dist/main.js");
  const main = join(packageDir, bin);
  // the bin is a committed loader (bin/*.mjs); what must exist is the build it loads
  const built = join(packageDir, "dist", "main.js");
  if (!(await exists(main)) || !(await exists(built))) {
    throw new CliError(
      `${app.pkg} is installed at ${packageDir} but not built: ${built} is missing (pnpm --filter ${app.pkg} build)`,
      EXIT.notFound,
    );
  }
  return { name, packageDir, main };
}

async function fromImportResolve(pkg: string): Promise<string | undefined> {
  let entry: string;
  try {
    entry = fileURLToPath(import.meta.resolve(pkg));
  } catch {
    return undefined;
  }
  return packageRootOf(entry, pkg);
}

/** Node's own lookup for a bare name, done by hand so an unbuilt package is still found. */
async function fromNodeModules(pkg: string, starts: string[]): Promise<string | undefined> {
  for (const start of starts) {
    for (let dir = resolve(start), depth = 0; depth < 64; depth++) {
      const candidate = join(dir, "node_modules", pkg);
      if (await isPackage(candidate, pkg)) return candidate;
      const parent = dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  return undefined;
}

/** In the Gigafactory repo itself the apps are siblings of the SDK: `<root>/apps/<name>`. */
async function fromWorkspace(name: AppName, pkg: string): Promise<string | undefined> {
  for (let dir = resolve(SDK_DIR), depth = 0; depth < 8; depth++) {
    if (await exists(join(dir, "pnpm-workspace.yaml"))) {
      const candidate = join(dir, "apps", name);
      return (await isPackage(candidate, pkg)) ? candidate : undefined;
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
  return undefined;
}

async function packageRootOf(file: string, pkg: string): Promise<string | undefined> {
  for (let dir = dirname(file), depth = 0; depth < 16; depth++) {
    if (await isPackage(dir, pkg)) return dir;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
  return undefined;
}

async function isPackage(dir: string, pkg: string): Promise<boolean> {
  try {
    const manifest = JSON.parse(await readFile(join(dir, "package.json"), "utf8")) as { name?: unknown };
    return manifest.name === pkg;
  } catch {
    return false;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** The package that starts the local MongoDB; the coordinator depends on it. */
const DEVDB = "@gigafactory/devdb";

/**
 * The entry file of the MongoDB launcher (`@gigafactory/devdb`), resolved the way the
 * coordinator resolves its own dependency (from its package folder, or from its main script
 * when that came from GF_COORDINATOR_MAIN), else from the SDK. Throws a usage-level error
 * saying how to install or build it.
 */
export async function resolveDevDb(coordinator: ResolvedApp): Promise<string> {
  const starts = [coordinator.packageDir ? join(coordinator.packageDir, "package.json") : coordinator.main, SDK_DIR];
  for (const start of starts) {
    let entry: string;
    try {
      entry = createRequire(start).resolve(DEVDB);
    } catch {
      continue;
    }
    if (!(await exists(entry))) {
      throw new CliError(
        `${DEVDB} is installed but not built: ${entry} is missing (pnpm --filter ${DEVDB} build)`,
        EXIT.notFound,
      );
    }
    return entry;
  }
  throw new CliError(
    `${DEVDB} is not installed: \`gf up\` starts MongoDB with it, and it comes with ${APPS.coordinator.pkg}.\n` +
      "Reinstall the coordinator, or pass --mongo-url (or GF_MONGO_URL) to use a running MongoDB.",
    EXIT.notFound,
  );
}
