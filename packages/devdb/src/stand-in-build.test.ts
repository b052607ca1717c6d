import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hashSources, standInSourceDir } from "./stand-in-build.js";

describe("hashSources, the stand-in cache key", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "gf-stand-in-hash-"));
    await mkdir(join(dir, "src", "main"), { recursive: true });
    await writeFile(join(dir, "pom.xml"), "<project/>");
    await writeFile(join(dir, "src", "main", "A.java"), "class A {}");
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("is stable for the same sources and changes when pom.xml or a source file changes", async () => {
    const first = await hashSources(dir);
    expect(first).toMatch(/^[0-9a-f]{16}$/);
    expect(await hashSources(dir)).toBe(first);

    await writeFile(join(dir, "src", "main", "A.java"), "class A { int x; }");
    const edited = await hashSources(dir);
    expect(edited).not.toBe(first);

    await writeFile(join(dir, "src", "main", "B.java"), "class B {}");
    const added = await hashSources(dir);
    expect(added).not.toBe(edited);

    await writeFile(join(dir, "pom.xml"), "<project><!-- v2 --></project>");
    expect(await hashSources(dir)).not.toBe(added);
  });

  it("finds the Maven project shipped in this package", async () => {
    expect(await hashSources(standInSourceDir)).toMatch(/^[0-9a-f]{16}$/);
  });
});
