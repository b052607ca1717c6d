import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { databaseNameFor } from "@gigafactory/devdb";
import { type SpawnedCoordinator, spawnCoordinator } from "@gigafactory/coordinator/testing";
import type { Job } from "@gigafactory/schema";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { parseJson, runGf } from "./support/run-gf.js";

/** `gf schedule …` against a real coordinator (no factory: fired jobs wait in the inbox). */
let coordinator: SpawnedCoordinator;
let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  coordinator = await spawnCoordinator({ mongoUrl: inject("mongoUrl"), dbName: databaseNameFor("sdk-schedule-cli") });
  dir = await mkdtemp(join(tmpdir(), "gf-schedule-"));
  env = { GF_URL: coordinator.url, GF_TOKEN: coordinator.adminToken };
});

afterAll(async () => {
  await coordinator?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const gf = (...args: string[]) => runGf(args, { env });
const fileIn = async (name: string, text: string) => {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
};

type Shown = { id: string; paused: boolean; note?: string; actions: number; nextDueTimes: string[]; recent: unknown[] };

describe("gf schedule", () => {
  it("applies a job file's schedule key once, however often, and manages it", async () => {
    const file = await fileIn(
      "nightly.md",
      "---\ntitle: Nightly bump\nschedule:\n  id: nightly\n  cron: 0 3 * * *\n  timezone: Europe/Berlin\n  overlap: bufferOne\n---\necho bump\n",
    );
    const first = parseJson<{ created: boolean; schedule: Shown }>(await gf("schedule", "apply", file, "--json"));
    const again = parseJson<{ created: boolean }>(await gf("schedule", "apply", file, "--json"));
    expect([first.created, again.created]).toEqual([true, false]);
    expect(first.schedule.nextDueTimes).toHaveLength(5);

    const list = parseJson<Shown[]>(await gf("schedule", "list", "--json"));
    expect(list.map((s) => s.id)).toEqual(["nightly"]);

    const { jobId } = parseJson<{ jobId: string }>(await gf("schedule", "trigger", "nightly", "--json"));
    const job = parseJson<{ job: Job }>(await gf("job", jobId, "--json")).job;
    expect(job).toMatchObject({ title: "Nightly bump", scheduleId: "default/nightly" });
    expect(job.manifest.schedule).toBeUndefined();

    const range = ["--from", "2026-01-01T00:00:00Z", "--to", "2026-01-02T23:00:00Z", "--json"];
    expect(parseJson<{ created: number }>(await gf("schedule", "backfill", "nightly", ...range)).created).toBe(2);
    expect(parseJson<{ created: number }>(await gf("schedule", "backfill", "nightly", ...range)).created).toBe(0);

    const paused = parseJson<Shown>(await gf("schedule", "pause", "nightly", "--note", "freeze", "--json"));
    expect([paused.paused, paused.note]).toEqual([true, "freeze"]);
    expect(parseJson<Shown>(await gf("schedule", "resume", "nightly", "--json")).paused).toBe(false);
    const shown = parseJson<Shown>(await gf("schedule", "show", "nightly", "--json"));
    expect(shown.actions).toBe(3);
    expect(shown.recent).toHaveLength(3);

    expect((await gf("schedule", "delete", "nightly")).code).toBe(0);
    expect((await gf("schedule", "show", "nightly")).code).not.toBe(0);
  });

  it("creates from flags and a job file", async () => {
    const job = await fileIn("hourly.md", "---\ntitle: Hourly\n---\necho hi\n");
    const made = parseJson<Shown>(
      await gf("schedule", "create", "hourly", job, "--every", "1h", "--phase", "15m", "--json"),
    );
    expect(new Date(made.nextDueTimes[0] ?? "").getUTCMinutes()).toBe(15);
  });

  it("refuses a bad schedule key with exit 2 and creates nothing", async () => {
    const before = parseJson<Shown[]>(await gf("schedule", "list", "--json")).length;
    const file = await fileIn("bad.md", "---\nschedule:\n  id: bad\n  cron: '* * *'\n  every: 1h\n---\necho hi\n");
    const result = await gf("schedule", "apply", file);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("schedule");
    expect(parseJson<Shown[]>(await gf("schedule", "list", "--json"))).toHaveLength(before);
  });
});
