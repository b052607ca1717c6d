import type { FeedItem, JobEvent } from "@gigafactory/schema";
import { type TrackedEnvelope, tracked } from "@trpc/server";
import type { StreamOptions } from "../../options.js";
import type { NoticeSource } from "../events/notifier.js";

export interface FeedDeps {
  notifier: Pick<NoticeSource, "product">;
  options: Pick<StreamOptions, "recheckMs">;
}

/**
 * Every event of a product as it happens, for dashboards: one line per event, tracked by
 * `jobId:seq`. Live only (no backfill); runs until `signal` aborts, then drops its subscription.
 */
export async function* productFeed(
  deps: FeedDeps,
  args: { productId: string; signal?: AbortSignal | undefined },
): AsyncGenerator<TrackedEnvelope<FeedItem>> {
  const done = new AbortController();
  const stop = args.signal ? AbortSignal.any([args.signal, done.signal]) : done.signal;
  const notices = deps.notifier.product(args.productId, stop);
  try {
    while (!stop.aborted) {
      for (const notice of await notices.next(deps.options.recheckMs)) {
        if (notice.kind !== "event") continue;
        yield tracked(`${notice.event.jobId}:${notice.event.seq}`, feedItemOf(notice.event));
      }
    }
  } finally {
    done.abort();
  }
}

/** The feed's line for one event: the stage it moved to, when it names one. */
export function feedItemOf(event: JobEvent): FeedItem {
  const stage = typeof event.data.stage === "string" ? event.data.stage : undefined;
  return {
    jobId: event.jobId,
    seq: event.seq,
    type: event.type,
    at: event.at,
    ...(stage ? { stage } : {}),
  } as FeedItem;
}
