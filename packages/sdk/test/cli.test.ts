import { createHash } from "node:crypto";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Factory, InsightsOutput, Job, JobEvent, Profile, Run, StatusOutput } from "@gigafactory/schema";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { streamEvents } from "../src/index.js";
import { type TestFleet, shellJob, startTestFleet } from "./support/fleet.js";
import { EXAMPLES, GF_MAIN, cleanEnv, parseJson, runGf } from "./support/run-gf.js";

let fleet: TestFleet;
let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  fleet = await startTestFleet({ mongoUrl: inject("mongoUrl"), label: "sdk-cli" });
  dir = await mkdtemp(join(tmpdir(), "gf-cli-"));
  env = { GF_URL: fleet.url, GF_TOKEN: fleet.adminToken };
});

afterAll(async () => {
  await fleet?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const gf = (...args: string[]) => runGf(args, { env });
const fileIn = async (name: string, text: string) => {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
};
/** Every job id in the product, through the service client (not the CLI under test). */
const allJobIds = async () =>
  (await fleet.service.trpc.jobs.list.query({ limit: 200 })).items.map((job) => job._id).sort();
/** The columns of each tab-separated stdout line. */
const rows = (stdout: string) =>
  stdout
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((line) => line.split("\t"));

describe("gf submit", () => {
  it("ships examples/hello.md with --wait and exits 0", async () => {
    const result = await gf("submit", join(EXAMPLES, "hello.md"), "--wait");
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const lines = rows(result.stdout);
    const jobId = lines[0]?.[0] ?? "";
    expect(jobId).toMatch(/^job_/);
    expect(lines.at(-1)?.slice(0, 2)).toEqual([jobId, "shipped"]);

    const shown = parseJson<{ job: Job; runs: Run[] }>(await gf("job", jobId, "--json"));
    expect(shown.job).toMatchObject({
      _id: jobId,
      stage: "shipped",
      title: "Say hello",
      idempotencyKey: "example-hello",
      engine: "shell",
    });
    expect(shown.runs).toHaveLength(1);
    expect(shown.runs[0]).toMatchObject({ attempt: 1, factoryId: "test-1", result: "success" });
    expect(shown.runs[0]?.insights).toEqual(expect.any(Object));
  });

  it("ships the pipeline pair: deploy depends on build by its idempotency key", async () => {
    const result = await gf(
      "submit",
      join(EXAMPLES, "pipeline-build.md"),
      join(EXAMPLES, "pipeline-deploy.md"),
      "--wait",
      "--json",
    );
    expect(result.code).toBe(0);
    const [build, deploy] = parseJson<Array<{ file: string; job: Job }>>(result);
    expect(build?.job).toMatchObject({ idempotencyKey: "example-pipeline-build", stage: "shipped" });
    expect(deploy?.job).toMatchObject({
      idempotencyKey: "example-pipeline-deploy",
      stage: "shipped",
      deps: [build?.job._id],
    });
    // the deploy ran after the build had shipped
    const runs = parseJson<{ runs: Run[] }>(await gf("job", deploy?.job._id ?? "", "--json")).runs;
    expect(Date.parse(String(runs[0]?.startedAt))).toBeGreaterThanOrEqual(Date.parse(String(build?.job.endedAt)));
  });

  it("prints the same job id when the same idempotency key is submitted twice", async () => {
    const file = await fileIn("twice.md", shellJob({ title: "Twice", key: "cli-twice", body: "echo twice" }));
    const first = await gf("submit", file);
    const second = await gf("submit", file);
    expect([first.code, second.code]).toEqual([0, 0]);
    const [[firstId, firstState] = []] = rows(first.stdout);
    const [[secondId, secondState] = []] = rows(second.stdout);
    expect(firstId).toMatch(/^job_/);
    expect(secondId).toBe(firstId);
    expect([firstState, secondState]).toEqual(["created", "existing"]);
    expect((await allJobIds()).filter((id) => id === firstId)).toHaveLength(1);
  });

  it("refuses a bad job file with exit 2, naming the field and line, and creates nothing", async () => {
    const good = await fileIn("good.md", shellJob({ title: "Good", key: "cli-good-never-created", body: "echo ok" }));
    const bad = await fileIn("bad.md", ["---", "engine: shell", "timeout: 4 hours", "---", "echo hi", ""].join("\n"));
    const before = await allJobIds();
    const result = await gf("submit", good, bad);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain('bad.md:3: timeout: invalid duration "4 hours"');
    expect(result.stderr).toContain("nothing was submitted");
    expect(await allJobIds()).toEqual(before);
  });

  it("exits 2 for a file that does not exist", async () => {
    const result = await gf("submit", join(dir, "missing.md"));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("missing.md: cannot read: no such file");
  });

  it("exits 1 with --wait when the job fails", async () => {
    const file = await fileIn(
      "fails.md",
      shellJob({ title: "Fails", body: "echo about to fail\nexit 3", extra: ["max-attempts: 1"] }),
    );
    const result = await gf("submit", file, "--wait");
    expect(result.code).toBe(1);
    const lines = rows(result.stdout);
    const jobId = lines[0]?.[0] ?? "";
    expect(lines.at(-1)?.slice(0, 2)).toEqual([jobId, "failed"]);
    const job = parseJson<{ job: Job }>(await gf("job", jobId, "--json")).job;
    expect(job).toMatchObject({ stage: "failed", lastResult: "failure", attempt: 1 });
  });

  it("reads a job file from stdin and prints JSON with --json", async () => {
    const result = await runGf(["submit", "-", "--json"], {
      env,
      input: shellJob({ title: "From stdin", body: "echo from stdin" }),
    });
    expect(result.code).toBe(0);
    const [entry, ...rest] = parseJson<Array<{ file: string; created: boolean; job: Job }>>(result);
    expect(rest).toEqual([]);
    expect(entry).toMatchObject({
      file: "stdin",
      created: true,
      job: { title: "From stdin", stage: "inbox", engine: "shell" },
    });
  });
});

describe("--json on the commands that read", () => {
  let shipped: Job;

  beforeAll(async () => {
    const file = await fileIn(
      "json.md",
      shellJob({ title: "For JSON", key: "cli-json", body: "echo line one\necho line two" }),
    );
    const result = await gf("submit", file, "--wait", "--json");
    expect(result.code).toBe(0);
    const [entry] = parseJson<Array<{ job: Job }>>(result);
    if (!entry) throw new Error("submit --json printed nothing");
    shipped = entry.job;
  });

  it("submit --wait --json gives the final job", () => {
    expect(shipped).toMatchObject({ stage: "shipped", title: "For JSON", idempotencyKey: "cli-json" });
  });

  it("jobs --json lists jobs with their stage, and filters by stage", async () => {
    const jobs = parseJson<Job[]>(await gf("jobs", "--json", "--limit", "200"));
    expect(jobs.map((job) => job._id)).toContain(shipped._id);
    for (const job of jobs)
      expect(job).toEqual(
        expect.objectContaining({
          _id: expect.any(String),
          stage: expect.any(String),
          title: expect.any(String),
          attempt: expect.any(Number),
        }),
      );
    const failed = parseJson<Job[]>(await gf("jobs", "--stage", "failed", "--json"));
    expect(failed.every((job) => job.stage === "failed")).toBe(true);
    expect(failed.map((job) => job._id)).not.toContain(shipped._id);
  });

  it("logs --json prints one event per line, in order, with the job's output", async () => {
    const result = await gf("logs", shipped._id, "--json");
    expect(result.code).toBe(0);
    const events = result.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as JobEvent);
    expect(events.map((event) => event.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events[0]).toMatchObject({ jobId: shipped._id, type: "created" });
    expect(events.at(-1)?.type).toBe("completed");
    const lines = events.filter((event) => event.type === "log").map((event) => event.data.line);
    expect(lines).toEqual(expect.arrayContaining(["line one", "line two"]));
  });

  it("logs prints log text as is and other events as one-liners", async () => {
    const result = await gf("logs", shipped._id);
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split("\n");
    expect(lines).toContain("line one");
    expect(lines.indexOf("line two")).toBeGreaterThan(lines.indexOf("line one"));
    expect(lines[0]).toMatch(/^-- \d\d:\d\d:\d\d created/);
    expect(lines.some((line) => /^-- \d\d:\d\d:\d\d claimed by test-1 \(attempt 1\)$/.test(line))).toBe(true);
    expect(lines.at(-1)).toMatch(/^-- \d\d:\d\d:\d\d shipped \(attempt 1\)$/);
  });

  it("logs shows terminal escapes from a job's output as text; --json keeps them", { timeout: 120_000 }, async () => {
    const file = await fileIn(
      "escapes.md",
      shellJob({ title: "Escapes", body: "printf 'evil\\033]0;pwned\\007\\033[2J\\rdone\\n'" }),
    );
    const submitted = await gf("submit", file, "--wait", "--json");
    expect(submitted.code).toBe(0);
    const [entry] = parseJson<Array<{ job: Job }>>(submitted);
    const jobId = entry?.job._id ?? "";
    const text = await gf("logs", jobId);
    expect(text.code).toBe(0);
    // nothing below space but newlines reaches the terminal
    // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for control characters is the point
    expect(text.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    expect(text.stdout.split("\n")).toContain("evil\\x1b]0;pwned\\x07\\x1b[2J");
    const json = await gf("logs", jobId, "--json");
    const lines = json.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as JobEvent)
      .filter((event) => event.type === "log")
      .map((event) => event.data.line);
    expect(lines).toContain("evil\x1b]0;pwned\x07\x1b[2J");
  });

  it("dashboard prints the coordinator URL with the token in its fragment", async () => {
    const shown = parseJson<{ url: string; role: string }>(await gf("dashboard", "--json"));
    expect(shown).toEqual({ url: `${fleet.url}/#token=${encodeURIComponent(fleet.adminToken)}`, role: "admin" });
    const plain = await gf("dashboard");
    expect(plain.code).toBe(0);
    expect(plain.stdout.trim()).toBe(shown.url);
  });

  it("factories --json shows the factory with pid, host, state, load and heartbeat", async () => {
    const factories = parseJson<Factory[]>(await gf("factories", "--json"));
    const factory = factories.find((f) => f.factoryId === "test-1");
    expect(factory).toMatchObject({ state: "active", seatLimit: 4, descriptor: { pid: fleet.factory.pid } });
    expect(factory?.descriptor.host).toEqual(expect.any(String));
    expect(factory?.load.running).toEqual(expect.any(Number));
    expect(Number.isNaN(Date.parse(String(factory?.lastHeartbeatAt)))).toBe(false);
  });

  it("factories (plain) prints one tab-separated row per factory", async () => {
    const result = await gf("factories");
    const row = rows(result.stdout).find((cols) => cols[0] === "test-1");
    expect(row?.slice(0, 5)).toEqual([
      "test-1",
      String(fleet.factory.pid),
      expect.any(String),
      "active",
      expect.stringMatching(/^\d+\/4$/),
    ]);
  });

  it("insights --json carries stages, results, success rate and durations", async () => {
    const insights = parseJson<InsightsOutput>(await gf("insights", "--json"));
    expect(insights.jobsByStage.shipped).toBeGreaterThanOrEqual(1);
    expect(insights.runsByResult.success).toBeGreaterThanOrEqual(1);
    expect(insights.successRate).toEqual(expect.any(Number));
    expect(insights.durationMs.p50).toEqual(expect.any(Number));
    expect(insights.byEngine.map((row) => row.engine)).toContain("shell");
  });

  it("status --json: every stage, the queue, factories and seats, failures in the last hour", async () => {
    const status = parseJson<StatusOutput>(await gf("status", "--json"));
    expect(Object.keys(status.jobsByStage).sort()).toEqual(
      ["building", "cancelled", "failed", "inbox", "review", "shipped", "testing"].sort(),
    );
    expect(status.jobsByStage.shipped).toBeGreaterThanOrEqual(1);
    expect(status.queue.depth).toBe(status.jobsByStage.inbox);
    expect(status.factoriesByState.active).toBe(1);
    expect(status.seats.used + status.seats.free).toBe(4);
    expect(status.failedLastHour).toEqual(expect.any(Number));
    // a test fleet's coordinator is given GF_MONGO_URL: the launcher's choice is `external`
    expect(status.mongoBackend).toBe("external");

    const text = await gf("status");
    expect(text.code).toBe(0);
    for (const label of ["coordinator", "mongodb", "queue", "factories", "seats", "failed (1h)"])
      expect(text.stdout).toContain(label);
  });

  it("profiles publish and list, from YAML, with --json", async () => {
    const published = parseJson<Profile>(
      await gf("profiles", "publish", join(EXAMPLES, "profiles", "backend-engineer.yaml"), "--json"),
    );
    expect(published).toMatchObject({
      name: "backend-engineer",
      version: expect.any(Number),
      snapshot: { engine: "claude-code" },
    });
    const again = parseJson<Profile>(
      await gf("profiles", "publish", join(EXAMPLES, "profiles", "backend-engineer.yaml"), "--json"),
    );
    expect(again.version).toBe(published.version + 1);
    const list = parseJson<Profile[]>(await gf("profiles", "list", "--json"));
    expect(list.filter((p) => p.name === "backend-engineer").map((p) => p.version)).toEqual([
      again.version,
      published.version,
    ]);
    // the agent example names this profile: with it published, the job is accepted
    const agent = parseJson<Array<{ job: Job }>>(await gf("submit", join(EXAMPLES, "agent-task.md"), "--json"));
    expect(agent[0]?.job).toMatchObject({
      engine: "claude-code",
      profile: { name: "backend-engineer", version: again.version },
      review: { mode: "human" },
    });
  });

  it("profiles publish refuses a bad file with exit 2 and the field", async () => {
    const file = await fileIn("bad-profile.yaml", "name: has space\nsnapshot:\n  maxTurns: many\n");
    const result = await gf("profiles", "publish", file);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("bad-profile.yaml: name:");
    expect(result.stderr).toContain("bad-profile.yaml: snapshot.maxTurns:");
  });

  it("token create makes a working token; --json carries role and product", async () => {
    const created = parseJson<{ token: string; role: string; productId: string }>(
      await gf("token", "create", "--role", "service", "--name", "cli test", "--json"),
    );
    expect(created).toMatchObject({
      role: "service",
      productId: expect.any(String),
      token: expect.stringMatching(/^gf_service_/),
    });
    const plain = await gf("token", "create", "--role", "service");
    expect(plain.stdout.trim()).toMatch(/^gf_service_\S+$/);
    const listed = await runGf(["jobs", "--json"], { env: { GF_URL: fleet.url, GF_TOKEN: created.token } });
    expect(listed.code).toBe(0);
    expect(parseJson<Job[]>(listed).map((job) => job._id)).toContain(shipped._id);
  });

  it("token list shows a created token by its hash; token revoke makes it useless (exit 4)", async () => {
    const created = parseJson<{ token: string }>(
      await gf("token", "create", "--role", "service", "--name", "to revoke", "--json"),
    );
    const tokenId = createHash("sha256").update(created.token).digest("hex");
    const tokens = parseJson<Array<{ tokenId: string; name?: string; revokedAt?: string }>>(
      await gf("token", "list", "--json"),
    );
    expect(tokens.find((token) => token.tokenId === tokenId)).toMatchObject({ name: "to revoke" });
    expect(JSON.stringify(tokens)).not.toContain(created.token);
    const revoked = await gf("token", "revoke", tokenId);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toContain("revoked service token");
    const refused = await runGf(["jobs", "--json"], { env: { GF_URL: fleet.url, GF_TOKEN: created.token } });
    expect(refused.code).toBe(4);
  });
});

describe("gf logs -f", () => {
  it("prints events as they come and stops when the job ends", async () => {
    // the job waits for the test to open the gate, so its first line is out while it still runs; the
    // gate is a file in its workspace, the only part of the host the sandboxed job sees
    const file = await fileIn(
      "follow.md",
      shellJob({
        title: "Follow me",
        body: "echo first-line\nwhile [ ! -e gate-logs ]; do sleep 0.05; done\necho second-line",
        extra: ["timeout: 2m"],
      }),
    );
    const submitted = await gf("submit", file);
    const jobId = rows(submitted.stdout)[0]?.[0] ?? "";
    expect(jobId).toMatch(/^job_/);

    const follower = spawn(process.execPath, [GF_MAIN, "logs", jobId, "-f"], {
      env: cleanEnv(env),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    follower.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
    follower.stderr.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
    const exited = exitOf(follower);

    await until(() => output.includes("first-line"), exited);
    expect(output).not.toContain("second-line");
    expect((await fleet.service.trpc.jobs.get.query({ jobId })).stage).toBe("building");

    await fleet.openGate(jobId, "gate-logs");
    expect(await exited).toBe(0);
    const lines = output.trim().split("\n");
    expect(lines.indexOf("second-line")).toBeGreaterThan(lines.indexOf("first-line"));
    expect(lines.at(-1)).toMatch(/shipped \(attempt 1\)$/);
  });
});

describe("jobs, cancel, retry, approve", () => {
  it("cancels a waiting job, retries it, and refuses to cancel a shipped one (exit 1)", async () => {
    // nobody offers this capability: the job stays in the inbox
    const file = await fileIn(
      "stuck.md",
      shellJob({ title: "Stuck", body: "echo never", extra: ["capabilities: [cli-test:nobody]"] }),
    );
    const jobId = rows((await gf("submit", file)).stdout)[0]?.[0] ?? "";
    const cancelled = await gf("cancel", jobId, "--reason", "not needed");
    expect(cancelled.code).toBe(0);
    expect(rows(cancelled.stdout)[0]).toEqual([jobId, "cancelled"]);
    expect(parseJson<{ job: Job }>(await gf("job", jobId, "--json")).job).toMatchObject({
      stage: "cancelled",
      reason: "not needed",
    });

    const retried = parseJson<Job>(await gf("retry", jobId, "--json"));
    expect(retried).toMatchObject({ _id: jobId, stage: "inbox" });
    const listed = rows((await gf("jobs", "--stage", "inbox")).stdout).map((cols) => cols[0]);
    expect(listed).toContain(jobId);
    expect((await gf("cancel", jobId)).code).toBe(0);

    const hello = rows((await gf("submit", join(EXAMPLES, "hello.md"), "--wait")).stdout)[0]?.[0] ?? "";
    const refused = await gf("cancel", hello);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("cannot be cancelled");
  });

  it("approves a job parked for human review: it ships", async () => {
    const file = await fileIn(
      "review.md",
      shellJob({ title: "Needs a human", body: "echo done", extra: ["review: human"] }),
    );
    const jobId = rows((await gf("submit", file)).stdout)[0]?.[0] ?? "";
    for await (const event of streamEvents(fleet.service, jobId)) if (event.type === "approval_requested") break;
    const parked = parseJson<{ job: Job }>(await gf("job", jobId, "--json")).job;
    expect(parked).toMatchObject({ stage: "review", awaitingApproval: true });
    const approved = await gf("approve", jobId, "--note", "looks right");
    expect(approved.code).toBe(0);
    expect(rows(approved.stdout)[0]).toEqual([jobId, "shipped"]);
    expect((await gf("approve", jobId)).code).toBe(1);
  });
});

describe("exit codes", () => {
  it("3 for a job that does not exist", async () => {
    for (const args of [
      ["job", "job_doesnotexist"],
      ["logs", "job_doesnotexist"],
      ["cancel", "job_doesnotexist"],
      ["drain", "no-such-factory"],
    ]) {
      const result = await gf(...args);
      expect({ args, code: result.code }).toEqual({ args, code: 3 });
      expect(result.stderr).toMatch(/not found/);
    }
  });

  it("4 when the coordinator cannot be reached or refuses the token", async () => {
    const unreachable = await runGf(["jobs"], { env: { GF_URL: "http://127.0.0.1:9", GF_TOKEN: "whatever" } });
    expect(unreachable.code).toBe(4);
    expect(unreachable.stderr).toContain("cannot reach the coordinator");
    const badToken = await runGf(["jobs"], { env: { GF_URL: fleet.url, GF_TOKEN: "gf_service_not-a-real-token" } });
    expect(badToken.code).toBe(4);
    // a service token may not list factories (admin only)
    const service = await runGf(["factories"], { env: { GF_URL: fleet.url, GF_TOKEN: fleet.serviceToken } });
    expect(service.code).toBe(4);
    expect(service.stderr).toContain("admin");
  });

  it("4 with no fleet to talk to (no flags, no env, no fleet file)", async () => {
    const result = await runGf(["jobs"], { cwd: dir });
    expect(result.code).toBe(4);
    expect(result.stderr).toContain("gf up");
  });

  it("--url and --token win over the environment", async () => {
    const result = await runGf(["--url", fleet.url, "--token", fleet.adminToken, "jobs", "--json"], {
      env: { GF_URL: "http://127.0.0.1:9", GF_TOKEN: "wrong" },
    });
    expect(result.code).toBe(0);
  });

  it("2 for bad usage, 0 for help", async () => {
    expect((await gf("jobs", "--stage", "nowhere")).code).toBe(2);
    expect((await gf("jobs", "--limit", "many")).code).toBe(2);
    expect((await gf("no-such-command")).code).toBe(2);
    expect((await gf("token", "create", "--role", "king")).code).toBe(2);
    const help = await gf("submit", "--help");
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("--wait");
  });
});

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once("close", (code) => resolve(code)));
}

/** Resolves once `condition()` holds (checked on every output chunk); rejects if the process ends first. */
async function until(condition: () => boolean, exited: Promise<number | null>): Promise<void> {
  // bounded by the test timeout; the process's own output drives the checks
  for (let i = 0; i < 2_400 && !condition(); i++) {
    const ended = await Promise.race([
      exited.then((code) => ({ code })),
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 50)),
    ]);
    if (ended) throw new Error(`the process ended (code ${ended.code}) before the expected output`);
  }
  if (!condition()) throw new Error("the expected output never came");
}
