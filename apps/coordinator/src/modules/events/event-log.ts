import type { EventType, Job, JobEvent } from "@gigafactory/schema";
import type { Filter } from "mongodb";
import type { EventsRepository } from "./events.repository.js";
import type { Notifier } from "./notifier.js";

export type EventInput = { type: EventType; data: Record<string, unknown>; at?: Date | undefined };

/** Appends events and wakes their subscribers: the one way events are written. */
export class EventLog {
  constructor(
    readonly repository: EventsRepository,
    private readonly notifier: Notifier,
  ) {}

  /** A lifecycle event written by the coordinator itself. */
  async record(job: Pick<Job, "_id" | "productId">, type: EventType, data: Record<string, unknown> = {}): Promise<JobEvent | null> {
    const [event] = (await this.append({ _id: job._id, productId: job.productId }, [{ type, data }])) ?? [];
    return event ?? null;
  }

  /** Appends under `filter` (a fence for factory writes); null when the filter matched nothing. */
  async append(filter: Filter<Job>, events: EventInput[]): Promise<JobEvent[] | null> {
    const written = await this.repository.append(filter, events);
    if (written) this.notifier.publish(written);
    return written;
  }
}
