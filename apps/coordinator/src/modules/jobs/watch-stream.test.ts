import type { JobEvent, Stage } from "@gigafactory/schema";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { NotFoundError } from "../../errors.js";
import { FakeNotifier } from "../../testing/fake-notifier.js";
import { stepper } from "../../testing/stream-steps.js";
import { type JobEventsReader, type WatchDeps, watchJob } from "./watch-stream.js";

const productId = "acme";
const jobId = "job-1";
const options = { recheckMs: 5_000, gapWaitMs: 1_000, gapRecheckMs: 50, watchPageSize: 500 };

/** One job in memory: its stage, its reserved seqs, and the events written so far. */
class FakeJobs implements JobEventsReader {
  stage: Stage = "building";
  eventSeq = 0;
  readonly written: JobEvent[] = [];

  constructor(private readonly notifier: FakeNotifier) {}

  /** Reserves the next seqs and writes them, announcing each (unless `quietly`). */
  write(count: number, opts: { quietly?: boolean } = {}): void {
    for (let i = 0; i < count; i++) this.writeSeq(++this.eventSeq, opts);
  }

  writeSeq(seq: number, opts: { quietly?: boolean } = {}): void {
    this.eventSeq = Math.max(this.eventSeq, seq);
    const event: JobEvent = { productId, jobId, seq, epoch: 1, type: "log", at: new Date(), data: { seq } };
    this.written.push(event);
    if (!opts.quietly) this.notifier.publish(event);
  }

  async get(product: string, id: string) {
    if (product !== productId || id !== jobId) throw new NotFoundError("job", id);
    return { stage: this.stage, eventSeq: this.eventSeq };
  }

  async events(_product: string, _id: string, afterSeq: number, limit: number) {
    const items = this.written
      .filter((event) => event.seq > afterSeq)
      .sort((a, b) => a.seq - b.seq)
      .slice(0, limit);
    return { items };
  }
}

let notifier: FakeNotifier;
let jobs: FakeJobs;
let deps: WatchDeps;

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
  notifier = new FakeNotifier();
  jobs = new FakeJobs(notifier);
  deps = { jobs, notifier, options };
});
afterEach(() => {
  vi.useRealTimers();
});

/** A watch stepped under fake timers, each event seen as its tracked id (checked against its seq). */
function watch(args: { lastEventId?: string; signal?: AbortSignal } = {}) {
  return stepper(watchJob(deps, { productId, jobId, ...args }), ([id, event]) => {
    expect(id).toBe(String(event.seq));
    return id;
  });
}

describe("watchJob", () => {
  it("sends the backlog in seq order, then ends once the job is final and every event was sent", async () => {
    jobs.write(3);
    jobs.stage = "shipped";
    const stream = watch();
    expect([await stream.next(), await stream.next(), await stream.next(), await stream.next()]).toEqual([
      "1",
      "2",
      "3",
      "end",
    ]);
    expect(notifier.listeners(`job:${jobId}`)).toBe(0);
  });

  it("resumes after the last id seen, sending nothing twice", async () => {
    jobs.write(4);
    jobs.stage = "failed";
    const stream = watch({ lastEventId: "2" });
    expect([await stream.next(), await stream.next(), await stream.next()]).toEqual(["3", "4", "end"]);
  });

  it("subscribes before it reads, and sends a new event on its wake-up without waiting for the recheck", async () => {
    jobs.write(1);
    const stream = watch();
    expect(await stream.next()).toBe("1");
    expect(notifier.listeners(`job:${jobId}`)).toBe(1);
    const pending = await stream.waiting(1_000);
    jobs.write(1);
    expect(await pending.settle(0)).toBe("2");
  });

  it("finds an event whose wake-up was lost at the next recheck", async () => {
    const stream = watch();
    const pending = await stream.waiting(options.recheckMs - 1);
    jobs.write(1, { quietly: true });
    expect(await pending.settle(1)).toBe("1");
  });

  it("waits at a missing seq, and sends the events in order once it is written", async () => {
    jobs.writeSeq(1);
    jobs.writeSeq(3);
    const stream = watch();
    expect(await stream.next()).toBe("1");
    const pending = await stream.waiting(options.gapWaitMs / 2);
    jobs.writeSeq(2);
    expect(await pending.settle(options.gapRecheckMs)).toBe("2");
    expect(await stream.next()).toBe("3");
  });

  it("moves past a seq that is never written once gapWaitMs has passed", async () => {
    jobs.writeSeq(1);
    jobs.writeSeq(3);
    const stream = watch();
    expect(await stream.next()).toBe("1");
    const pending = await stream.waiting(options.gapWaitMs - options.gapRecheckMs);
    expect(await pending.settle(options.gapRecheckMs)).toBe("3");
  });

  it("waits for a final job's reserved events, and ends after gapWaitMs if they never come", async () => {
    jobs.write(2);
    jobs.eventSeq = 4; // two more reserved, one of which is written late
    jobs.stage = "shipped";
    const stream = watch();
    expect([await stream.next(), await stream.next()]).toEqual(["1", "2"]);
    const pending = await stream.waiting(options.gapRecheckMs);
    jobs.writeSeq(3);
    expect(await pending.settle(options.gapRecheckMs)).toBe("3");
    const end = await stream.waiting(options.gapWaitMs - options.gapRecheckMs);
    expect(await end.settle(options.gapRecheckMs)).toBe("end");
    expect(notifier.listeners(`job:${jobId}`)).toBe(0);
  });

  it("reads page after page without waiting when a page is full", async () => {
    deps = { ...deps, options: { ...options, watchPageSize: 2 } };
    jobs.write(5);
    jobs.stage = "cancelled";
    const stream = watch();
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push(await stream.next());
    expect(ids).toEqual(["1", "2", "3", "4", "5", "end"]);
  });

  it("ends when its signal aborts, and drops its subscription", async () => {
    const abort = new AbortController();
    const stream = watch({ signal: abort.signal });
    const pending = await stream.waiting(1_000);
    expect(notifier.listeners(`job:${jobId}`)).toBe(1);
    abort.abort();
    expect(await pending.settle(0)).toBe("end");
    expect(notifier.listeners(`job:${jobId}`)).toBe(0);
  });

  it("fails with NOT_FOUND for a job of another product, and drops its subscription", async () => {
    await expect(watchJob(deps, { productId: "other", jobId }).next()).rejects.toBeInstanceOf(NotFoundError);
    expect(notifier.listeners(`job:${jobId}`)).toBe(0);
  });
});
