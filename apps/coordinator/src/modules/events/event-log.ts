import type { EventType, Job, JobEvent } from "@gigafactory/schema";
import type { Fence } from "../jobs/jobs.repository.js";
import type { EventsRepository } from "./events.repository.js";
import type { Notifier } from "./notifier.js";

export type EventInput = { type: EventType; data: Record<string, unknown>; at?: Date | undefined };

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

  /** Appends a factory's events while `fence` holds; null when it no longer does. */
  async appendFenced(fence: Fence, events: EventInput[]): Promise<JobEvent[] | null> {
    const written = await this.repository.appendFenced(fence, events);
    if (written) this.notifier.publish(written);
    return written;
  }
}
