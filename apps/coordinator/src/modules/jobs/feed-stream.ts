import { FACTORY_EVENT_TYPES, type FeedItem, type JobEvent, Stage } from "@gigafactory/schema";
import { type TrackedEnvelope, tracked } from "@trpc/server";
import { ObjectId } from "mongodb";
import type { NotifierOptions, StreamOptions } from "../../options.js";
import { EventTail, type TailPage } from "../events/event-tail.js";
import type { EventsRepository } from "../events/events.repository.js";
import type { NoticeSource } from "../events/notifier.js";

/** What `feed` reads: one product's events in `_id` order, and its newest `_id` (the events repository). */
export interface FeedReader {
  page(productId: string): TailPage;
  newestId(productId: string): Promise<ObjectId | null>;
}

export interface FeedDeps {
  events: FeedReader;
  notifier: Pick<NoticeSource, "product">;
  options: Pick<StreamOptions, "recheckMs" | "feedPageSize"> & Pick<NotifierOptions, "lookBackMs">;
}

/**
 * Every event of a product, for dashboards: one line per event, tracked by the event's `_id`
 * (its ObjectId in hex). Reads the `events` collection itself (an {@link EventTail}), so a resume
 * with the last id seen backfills what was written meanwhile, through any coordinator; notifier
 * wake-ups only say when to read again (and `recheckMs` covers a lost one). Without an id it
 * starts after the newest event there is. Runs until `signal` aborts, then drops its subscription.
 */
export async function* productFeed(
  deps: FeedDeps,
  args: { productId: string; lastEventId?: string | null | undefined; signal?: AbortSignal | undefined },
): AsyncGenerator<TrackedEnvelope<FeedItem>> {
  const done = new AbortController();
  const stop = args.signal ? AbortSignal.any([args.signal, done.signal]) : done.signal;
  const notices = deps.notifier.product(args.productId, stop);
  const tail = new EventTail(deps.events.page(args.productId), {
    pageSize: deps.options.feedPageSize,
    lookBackMs: deps.options.lookBackMs,
  });
  try {
    const resumeFrom = args.lastEventId && ObjectId.isValid(args.lastEventId) ? new ObjectId(args.lastEventId) : null;
    tail.startAfter(resumeFrom ?? (await deps.events.newestId(args.productId)));
    while (!stop.aborted) {
      for await (const event of tail.pass(() => !stop.aborted)) {
        yield tracked(event._id.toHexString(), feedItemOf(event));
      }
      if (stop.aborted) return;
      await notices.next(deps.options.recheckMs);
    }
  } finally {
    done.abort();
  }
}

const FACTORY_WRITTEN: ReadonlySet<string> = new Set(FACTORY_EVENT_TYPES);

/**
 * The feed's line for one event: the stage it moved to, when a lifecycle event (written by the
 * coordinator) names one. A factory's own events never set it, whatever their data says.
 */
export function feedItemOf(event: JobEvent): FeedItem {
  const named = FACTORY_WRITTEN.has(event.type) ? undefined : Stage.safeParse(event.data.stage);
  const stage = named?.success ? named.data : undefined;
  return {
    jobId: event.jobId,
    seq: event.seq,
    type: event.type,
    at: event.at,
    ...(stage ? { stage } : {}),
  } as FeedItem;
}

/** The feed's reader over the events repository, each read bounded by `maxTimeMs`. */
export function feedReader(events: Pick<EventsRepository, "tailAfter" | "newestId">, maxTimeMs: number): FeedReader {
  return {
    page: (productId) => (after, limit) => events.tailAfter(after, limit, { productId, maxTimeMs }),
    newestId: (productId) => events.newestId({ productId, maxTimeMs }),
  };
}
