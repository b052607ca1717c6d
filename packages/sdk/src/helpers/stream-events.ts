import type { JobEvent } from "@gigafactory/schema";
import type { GigafactoryClient } from "../client.js";

export interface StreamEventsOptions {
  /** Start after this event sequence number (0 = from the first event). @default 0 */
  afterSeq?: number;
  /** Ends the stream (quietly: the loop just stops). */
  signal?: AbortSignal;
}

/**
 * A job's events as they happen, oldest first: the ones already written (after `afterSeq`),
 * then live ones. Ends when the job is in a final stage and every event was delivered.
 * Survives dropped connections: the WebSocket link resubscribes with the last seq it saw
 * (`lastEventId`), so no event is lost or repeated.
 */
export async function* streamEvents(
  client: GigafactoryClient,
  jobId: string,
  opts: StreamEventsOptions = {},
): AsyncGenerator<JobEvent, void, undefined> {
  let last = opts.afterSeq ?? 0;
  // our own controller, so that a consumer that stops early (break) also ends the subscription
  const controller = new AbortController();
  const onAbort = () => controller.abort(opts.signal?.reason);
  if (opts.signal?.aborted) return;
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const subscription = client.trpc.jobs.watch.subscribe(
      { jobId, lastEventId: last > 0 ? String(last) : null },
      { signal: controller.signal },
    );
    for await (const { data: event } of subscription) {
      // a resubscription may overlap what was already delivered
      if (event.seq <= last) continue;
      last = event.seq;
      yield event;
    }
  } finally {
    opts.signal?.removeEventListener("abort", onAbort);
    controller.abort();
  }
}
