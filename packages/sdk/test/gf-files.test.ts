import { chmod, mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { startGfUp, waitForFile } from "./support/gf-up.js";

const modeOf = async (path: string) => ((await stat(path)).mode & 0o777).toString(8);

it("gf up keeps its own files 0600 and folders 0700, also ones that existed with looser modes", async () => {
  const data = await mkdtemp(join(tmpdir(), "gf-files-"));
  await using _data = { [Symbol.asyncDispose]: () => rm(data, { recursive: true, force: true }) };
  const state = join(data, ".gigafactory");
  // left over from an earlier run, or made by hand, with the usual umask
  await mkdir(join(state, "logs"), { recursive: true, mode: 0o755 });
  await mkdir(join(state, "work"), { recursive: true, mode: 0o755 });
  await writeFile(join(state, "work", "local-1.token"), "old\n", { mode: 0o644 });
  await chmod(state, 0o755);

  const gfUp = startGfUp(["up", "--port", "0", "--factories", "1", "--data", data]);
  const { exited, output } = gfUp;
  await using _up = { [Symbol.asyncDispose]: async () => void (await gfUp.stop()) };
  await waitForFile(join(state, "fleet.json"), exited, output);
  expect({
    state: await modeOf(state),
    logs: await modeOf(join(state, "logs")),
    work: await modeOf(join(state, "work")),
    workDir: await modeOf(join(state, "work", "local-1")),
    token: await modeOf(join(state, "work", "local-1.token")),
    fleet: await modeOf(join(state, "fleet.json")),
  }).toEqual({ state: "700", logs: "700", work: "700", workDir: "700", token: "600", fleet: "600" });
});
