import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { JobEvent } from "@gigafactory/schema";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { JobFileParseError, streamEvents, submitJobFile, waitForJob } from "../src/index.js";
import { type TestFleet, shellJob, startTestFleet } from "./support/fleet.js";
import { EXAMPLES } from "./support/run-gf.js";

let fleet: TestFleet;
let dir: string;

beforeAll(async () => {
  fleet = await startTestFleet({ mongoUrl: inject("mongoUrl"), label: "sdk-helpers" });
  dir = await mkdtemp(join(tmpdir(), "gf-helpers-"));
});

afterAll(async () => {
  await fleet?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const jobCount = async () => (await fleet.service.trpc.jobs.list.query({ limit: 200 })).items.length;

describe("submitJobFile", () => {
  it("submits a file by path, and gives back the same job for the same idempotency key", async () => {
    const first = await submitJobFile(fleet.service, join(EXAMPLES, "hello.md"));
    expect(first.created).toBe(true);
    expect(first.job).toMatchObject({
      title: "Say hello",
      engine: "shell",
      idempotencyKey: "example-hello",
      manifest: { "idempotency-key": "example-hello", timeout: "2m" },
    });
    const again = await submitJobFile(fleet.service, { path: join(EXAMPLES, "hello.md") });
    expect(again).toMatchObject({ created: false, job: { _id: first.job._id } });
  });

  it("submits text", async () => {
    const { job, created } = await submitJobFile(fleet.service, {
      text: shellJob({ title: "From text", body: "echo text" }),
      file: "inline.md",
    });
    expect(created).toBe(true);
    expect(job).toMatchObject({ title: "From text", bodyMd: "echo text\n", stage: "inbox" });
  });

  it("throws JobFileParseError naming the field and line, and creates nothing", async () => {
    const path = join(dir, "broken.md");
    await writeFile(path, ["---", "engine: shell", "", "max-attempts: three", "---", "echo hi", ""].join("\n"));
    const before = await jobCount();
    const error = await submitJobFile(fleet.service, path).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(JobFileParseError);
    expect((error as JobFileParseError).issues).toEqual([
      { field: "max-attempts", line: 4, message: 'must be a number, not "three"', file: "broken.md" },
    ]);
    expect((error as Error).message).toBe('broken.md:4: max-attempts: must be a number, not "three"');
    expect(await jobCount()).toBe(before);
  });
});

describe("waitForJob and streamEvents", () => {
  it("waitForJob follows a job to the end and returns the final job; onEvent sees every event in order", async () => {
    const { job } = await submitJobFile(fleet.service, {
      text: shellJob({ title: "Wait for me", body: "echo one\necho two" }),
    });
    const seen: JobEvent[] = [];
    const done = await waitForJob(fleet.service, job._id, { onEvent: (event) => seen.push(event) });
    expect(done).toMatchObject({ _id: job._id, stage: "shipped", attempt: 1 });
    expect(seen.map((event) => event.seq)).toEqual(seen.map((_, i) => i + 1));
    expect(seen.at(-1)?.seq).toBe(done.eventSeq);
    expect(seen[0]?.type).toBe("created");
    expect(seen.at(-1)?.type).toBe("completed");
    expect(seen.filter((event) => event.type === "log").map((event) => event.data.line)).toEqual(["one", "two"]);
    expect(seen[0]?.at).toBeInstanceOf(Date);
  });

  it("waitForJob returns a job that already ended straight away", async () => {
    const { job } = await submitJobFile(fleet.service, { text: shellJob({ title: "Quick", body: "echo quick" }) });
    const first = await waitForJob(fleet.service, job._id);
    const again = await waitForJob(fleet.service, job._id);
    expect(again).toMatchObject({ _id: job._id, stage: "shipped", eventSeq: first.eventSeq });
  });

  it("streamEvents resumes after a given seq and ends when the job has ended", async () => {
    const { job } = await submitJobFile(fleet.service, {
      text: shellJob({ title: "Resume", body: "echo a\necho b\necho c" }),
    });
    const all: JobEvent[] = [];
    for await (const event of streamEvents(fleet.service, job._id)) all.push(event);
    expect(all.at(-1)?.type).toBe("completed");
    const tail: JobEvent[] = [];
    for await (const event of streamEvents(fleet.service, job._id, { afterSeq: 3 })) tail.push(event);
    expect(tail.map((event) => event.seq)).toEqual(all.filter((event) => event.seq > 3).map((event) => event.seq));
    expect(tail[0]?.seq).toBe(4);
  });

  it("an aborted signal ends streamEvents quietly and makes waitForJob reject", async () => {
    // the gate is a file in the job's workspace, the only part of the host the sandboxed job sees
    const { job } = await submitJobFile(fleet.service, {
      text: shellJob({
        title: "Held",
        body: "echo holding\nwhile [ ! -e gate-abort ]; do sleep 0.05; done",
        extra: ["timeout: 2m"],
      }),
    });
    const controller = new AbortController();
    const seen: string[] = [];
    for await (const event of streamEvents(fleet.service, job._id, { signal: controller.signal })) {
      seen.push(event.type);
      if (event.type === "log") controller.abort();
    }
    expect(seen).toContain("log");
    expect(seen).not.toContain("completed");

    const stop = new AbortController();
    const waiting = waitForJob(fleet.service, job._id, { signal: stop.signal });
    stop.abort(new Error("gave up"));
    await expect(waiting).rejects.toThrow("gave up");

    await fleet.openGate(job._id, "gate-abort");
    expect((await waitForJob(fleet.service, job._id)).stage).toBe("shipped");
  });

  it("streamEvents on a job that does not exist throws NOT_FOUND", async () => {
    const consume = async () => {
      for await (const _ of streamEvents(fleet.service, "job_does_not_exist")) {
        // nothing to see
      }
    };
    await expect(consume()).rejects.toMatchObject({ data: { code: "NOT_FOUND" } });
  });
});
