import { execFile } from "node:child_process";
import { constants } from "node:fs";
import { access, stat } from "node:fs/promises";
import { delimiter, isAbsolute, join } from "node:path";
import { ENGINE_REQUIREMENTS, type EngineRequirements } from "@gigafactory/schema";
import type { Command } from "commander";
import type { CliContext } from "../context.js";

/** How long one `<binary> --version` may take before it counts as "no version". */
const VERSION_TIMEOUT_MS = 15_000;

export interface EngineReport {
  id: string;
  /** Whether a factory on this host (with this PATH) would offer it. */
  available: boolean;
  binary: string;
  path: string | null;
  version: string | null;
  versionTested: string | null;
  install: string | null;
  /** Each API key variable and whether it is set (its value is never read out). */
  apiKeyEnv: Array<{ name: string; set: boolean }>;
  baseUrlEnv: Array<{ name: string; value: string | null }>;
  notes: string | null;
}

export function registerEngineCommands(program: Command, ctx: CliContext): void {
  program
    .command("engines")
    .description("the engines a factory would offer on this host: detected version and what each needs")
    .option("--json", "print the engines as a JSON array")
    .action(async (opts: { json?: boolean }) => {
      const reports = await Promise.all(ENGINE_REQUIREMENTS.map((engine) => detect(engine, ctx.env)));
      if (opts.json) return ctx.out.json(reports);
      ctx.out.table(reports, [
        { header: "ENGINE", value: (r) => r.id },
        { header: "STATUS", value: (r) => (r.available ? "available" : "missing") },
        { header: "VERSION", value: (r) => r.version ?? "-" },
        { header: "TESTED", value: (r) => r.versionTested ?? "-" },
        { header: "NEEDS", value: needs },
      ]);
    });
}

function needs(r: EngineReport): string {
  const parts = [r.available ? r.path : `${r.binary} on PATH${r.install ? ` (${r.install})` : ""}`];
  if (r.apiKeyEnv.length > 0) {
    parts.push(`key: ${r.apiKeyEnv.map((k) => `${k.name}${k.set ? " (set)" : ""}`).join(" or ")}`);
  }
  if (r.baseUrlEnv.length > 0) {
    parts.push(`base URL: ${r.baseUrlEnv.map((b) => (b.value ? `${b.name}=${b.value}` : b.name)).join(", ")}`);
  }
  if (r.notes) parts.push(r.notes);
  return parts.join("; ");
}

async function detect(engine: EngineRequirements, env: Readonly<Record<string, string | undefined>>) {
  const path = await onPath(engine.binary, env.PATH ?? "");
  const version = path ? await versionOf(path, engine.versionArgs, env) : null;
  const report: EngineReport = {
    id: engine.id,
    available: path !== null,
    binary: engine.binary,
    path,
    version,
    versionTested: engine.versionTested ?? null,
    install: engine.install ?? null,
    apiKeyEnv: engine.apiKeyEnv.map((name) => ({ name, set: (env[name] ?? "") !== "" })),
    baseUrlEnv: engine.baseUrlEnv.map((name) => ({ name, value: env[name] || null })),
    notes: engine.notes ?? null,
  };
  return report;
}

/** The first executable file named `binary` in PATH's absolute directories (as the factory looks). */
async function onPath(binary: string, path: string): Promise<string | null> {
  for (const dir of path.split(delimiter)) {
    if (!dir || !isAbsolute(dir)) continue;
    const candidate = join(dir, binary);
    try {
      await access(candidate, constants.X_OK);
      if ((await stat(candidate)).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/** The first non-empty line `binary --version` prints, or null when it fails. */
function versionOf(
  binary: string,
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(
      binary,
      [...args],
      { env: { ...env }, timeout: VERSION_TIMEOUT_MS, maxBuffer: 64 * 1024 },
      (error, stdout, stderr) => {
        if (error) return resolve(null);
        const line = `${stdout}\n${stderr}`
          .split("\n")
          .map((l) => l.trim())
          .find((l) => l !== "" && !l.startsWith("WARNING"));
        resolve(line ?? null);
      },
    );
  });
}
