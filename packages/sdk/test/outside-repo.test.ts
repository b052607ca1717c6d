import { execFile } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { databaseNameFor } from "@gigafactory/devdb";
import { spawnCoordinator } from "@gigafactory/coordinator/testing";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createGigafactoryClient } from "../src/index.js";
import { anyPaths } from "./support/any-paths.js";
import { REPO_ROOT, cleanEnv } from "./support/run-gf.js";

const run = promisify(execFile);
const FIXTURES = fileURLToPath(new URL("./fixtures/outside-repo/", import.meta.url));
const TSC = createRequire(import.meta.url).resolve("typescript/bin/tsc");
/** Kept between runs so a second run installs from the cache; npm's cache is safe to share. */
const NPM_CACHE = join(tmpdir(), "gigafactory-outside-repo-npm-cache");
const COORDINATOR = "@gigafactory/coordinator";

interface Manifest {
  exports?: Record<string, { types?: string; default?: string } | string>;
  types?: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

/** npm without the npm_* / pnpm_* variables that `pnpm run` passes down (npm would read them as its config). */
function npmEnv(): NodeJS.ProcessEnv {
  const env = cleanEnv();
  for (const key of Object.keys(env)) if (/^(npm|pnpm)_/i.test(key) && key !== "npm_config_registry") delete env[key];
  return env;
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}

const readManifest = async (dir: string) => JSON.parse(await readFile(join(dir, "package.json"), "utf8")) as Manifest;

/**
 * The SDK as a service outside this repo gets it: `pnpm pack` of schema and sdk, `npm install`
 * of the two tarballs into a fresh project under the system temp dir, where no workspace
 * package (above all @gigafactory/coordinator) can be resolved.
 */
describe("the packed SDK, outside this repo", () => {
  let work: string;
  let project: string;
  let sdkDir: string;
  let schemaDir: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "gf-outside-repo-"));
    const tarballs = join(work, "tarballs");
    project = join(work, "service");
    await mkdir(tarballs);
    await mkdir(project);
    const bundle = join(REPO_ROOT, "packages/sdk/dist/index.bundle.d.ts");
    if (!(await stat(bundle).catch(() => undefined)))
      throw new Error(`${bundle} is missing: pnpm --filter @gigafactory/sdk build`);
    for (const pkg of ["schema", "sdk"]) {
      await run("pnpm", ["pack", "--pack-destination", tarballs], {
        cwd: join(REPO_ROOT, "packages", pkg),
        env: cleanEnv(),
      });
    }
    await writeFile(
      join(project, "package.json"),
      `${JSON.stringify({ name: "outside-service", private: true, type: "module", engines: { node: ">=20" } }, null, 2)}\n`,
    );
    const packed = (await readdir(tarballs)).map((name) => join(tarballs, name));
    expect(packed.map((file) => relative(tarballs, file)).sort()).toEqual([
      "gigafactory-schema-0.1.0.tgz",
      "gigafactory-sdk-0.1.0.tgz",
    ]);
    await run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--cache", NPM_CACHE, ...packed], {
      cwd: project,
      env: npmEnv(),
    });
    for (const name of ["consumer.ts", "consumer.mjs"]) await copyFile(join(FIXTURES, name), join(project, name));
    sdkDir = join(project, "node_modules/@gigafactory/sdk");
    schemaDir = join(project, "node_modules/@gigafactory/schema");
  }, 300_000);

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("points types at built declarations: the SDK's bundled file, schema's dist", async () => {
    const sdk = await readManifest(sdkDir);
    expect(sdk.exports?.["."]).toEqual({ types: "./dist/index.bundle.d.ts", default: "./dist/index.js" });
    expect(sdk.types).toBe("./dist/index.bundle.d.ts");
    const schema = await readManifest(schemaDir);
    expect(schema.exports?.["."]).toEqual({ types: "./dist/index.d.ts", default: "./dist/index.js" });
    for (const file of [join(sdkDir, "dist/index.bundle.d.ts"), join(schemaDir, "dist/index.d.ts")])
      expect((await stat(file)).isFile()).toBe(true);
    // protocols pnpm must have replaced when packing
    expect(JSON.stringify([sdk.dependencies, schema.dependencies])).not.toMatch(/workspace:|catalog:/);
  });

  it("never references @gigafactory/coordinator, except the gf up loader naming the package it starts", async () => {
    const mentions: string[] = [];
    for (const file of await filesUnder(sdkDir)) {
      if ((await readFile(file, "utf8")).includes(COORDINATOR)) mentions.push(relative(sdkDir, file));
    }
    expect(mentions.sort()).toEqual(["dist/cli/apps.js", "package.json"]);
    // in package.json only as a devDependency, which npm does not install for users
    const sdk = await readManifest(sdkDir);
    expect(Object.keys(sdk.devDependencies ?? {})).toContain(COORDINATOR);
    for (const deps of [sdk.dependencies, sdk.peerDependencies, sdk.optionalDependencies])
      expect(Object.keys(deps ?? {})).not.toContain(COORDINATOR);
    expect(
      await filesUnder(join(project, "node_modules")).then((files) =>
        files.filter((file) => file.includes(`node_modules/${COORDINATOR}/`)),
      ),
    ).toEqual([]);
  });

  it("typechecks a strict TypeScript consumer with the router's precise output types", async () => {
    const args = [
      "--noEmit",
      "--strict",
      "--module",
      "nodenext",
      "--moduleResolution",
      "nodenext",
      "--target",
      "es2022",
      "--skipLibCheck",
      "consumer.ts",
    ];
    const result = await run(process.execPath, [TSC, ...args], { cwd: project }).then(
      () => ({ code: 0, output: "" }),
      (error: { code?: number; stdout?: string }) => ({ code: error.code ?? 1, output: error.stdout ?? String(error) }),
    );
    expect(result).toEqual({ code: 0, output: "" });
  });

  it("keeps every procedure's output precise: none is, or holds, `any`", () => {
    // the probe shows the walk finds an `any`; a type from mongodb (not installed here) would be one too
    expect(anyPaths(join(project, "consumer.ts"), ["RouterOutputs", "AnyProbe"])).toEqual(["AnyProbe.a.b"]);
  });

  it("runs a plain .mjs consumer that creates a job on a real coordinator and reads it back", async () => {
    await using coordinator = await spawnCoordinator({
      mongoUrl: inject("mongoUrl"),
      dbName: databaseNameFor("sdk-outside-repo"),
    });
    const admin = createGigafactoryClient({ url: coordinator.url, token: coordinator.adminToken });
    const { token } = await admin.trpc.admin.createToken
      .mutate({ role: "service", name: "outside the repo" })
      .finally(() => admin.close());
    const { stdout } = await run(process.execPath, ["consumer.mjs", coordinator.url, token], {
      cwd: project,
      env: cleanEnv(),
      timeout: 60_000,
    });
    const seen = JSON.parse(stdout) as Record<string, unknown>;
    expect(seen).toEqual({
      created: true,
      id: seen.id,
      readId: seen.id,
      title: "From outside the repo",
      stage: "inbox",
      terminal: false,
      createdAtIsDate: true,
    });
    expect(seen.id).toEqual(expect.any(String));

    // and the installed gf CLI finds it
    const listed = await run(join(project, "node_modules/.bin/gf"), ["jobs", "--json"], {
      cwd: project,
      env: cleanEnv({ GF_URL: coordinator.url, GF_TOKEN: token }),
    });
    expect((JSON.parse(listed.stdout) as { _id: string }[]).map((job) => job._id)).toEqual([seen.id]);
  });
});
