import type { EventType, Job, JobEvent } from "@gigafactory/schema";
import type { Fence } from "../jobs/jobs.repository.js";
import type { AppliedWrite, EventInput, EventsRepository, WriteOnce } from "./events.repository.js";
import type { Notifier } from "./notifier.js";

export type { EventInput };

/** Appends events and wakes their subscribers: the one way events are written. */
export class EventLog {
  constructor(
    readonly repository: EventsRepository,
    private readonly notifier: Notifier,
  ) {}

  /**
   * A lifecycle event written by the coordinator. The repository update that changed the job
   * reserved its sequence number (`RESERVE_EVENT`) in the same atomic write, so `job` (the
   * document after that update) carries the seq: a reader never sees the new stage without its
   * event being due, and `watch` waits for it.
   */
  async record(
    job: Pick<Job, "_id" | "productId" | "eventSeq" | "lease">,
    type: EventType,
    data: Record<string, unknown> = {},
  ): Promise<JobEvent> {
    const event = await this.repository.insertAt(job, { type, data });
    this.notifier.publish([event]);
    return event;
  }

  /** {@link record} for several jobs at once, in one write (a multi-seat claim's `claimed` events). */
  async recordEach(
    items: Array<{
      job: Pick<Job, "_id" | "productId" | "eventSeq" | "lease">;
      type: EventType;
      data: Record<string, unknown>;
    }>,
  ): Promise<JobEvent[]> {
    const events = await this.repository.insertAtEach(
      items.map(({ job, type, data }) => ({ job, event: { type, data } })),
    );
    this.notifier.publish(events);
    return events;
  }

  /**
   * Appends a factory's events while `fence` holds; null when it no longer does. With `once`, a
   * retry of an applied write is answered from the first try (`replay`) and appends nothing more.
   */
  async appendFenced(
    fence: Fence,
    events: EventInput[],
    once?: WriteOnce,
  ): Promise<{ events: JobEvent[]; applied?: AppliedWrite | undefined; replay: boolean } | null> {
    const written = await this.repository.appendFenced(fence, events, once);
    // a replay's events went out with the first try (or, when that died, reach watchers by the notifier's tail)
    if (written && !written.replay) this.notifier.publish(written.events);
    return written;
  }

  /** Fills a reserved seq that was never written (see `Recovery`); null when an event is there. */
  async fill(
    job: Pick<Job, "_id" | "productId" | "lease">,
    seq: number,
    type: EventType,
    data: Record<string, unknown>,
  ): Promise<JobEvent | null> {
    const event = await this.repository.fill(job, seq, { type, data });
    if (event) this.notifier.publish([event]);
    return event;
  }
}
