import { type Factory, type FactoryMessage, type JobEvent, type RunNeeds, canRun } from "@gigafactory/schema";
import { NotFoundError } from "../../errors.js";
import type { StreamOptions } from "../../options.js";
import { type NoticeSource, Notifier } from "../events/notifier.js";
import type { FleetMetrics } from "../metrics/fleet-metrics.js";

/** What `connect` reads: the factory as registered, within a product (the factories service). */
export interface FactoryReader {
  find(productId: string, factoryId: string): Promise<Factory | null>;
}

export interface ConnectDeps {
  factories: FactoryReader;
  notifier: Pick<NoticeSource, "product">;
  options: Pick<StreamOptions, "idleNudgeMs">;
  /** Observes create → nudge latency (`modules/metrics`). */
  metrics?: Pick<FleetMetrics, "dispatched">;
}

/**
 * A factory's side channel: `work` nudges, `cancel` for jobs it holds, and `drain`. Subscribes
 * first, then looks: a draining factory hears `drain` at once, and every factory one `work` to
 * claim what is already waiting. After that a `work` nudge follows new work this factory could
 * run (`canRun`), and a quiet spell of `idleNudgeMs`, as a fallback for a missed wake-up.
 * Nudges are hints: the claim decides. Runs until `signal` aborts, then drops its subscription.
 */
export async function* connectFactory(
  deps: ConnectDeps,
  args: { productId: string; factoryId: string; signal?: AbortSignal | undefined },
): AsyncGenerator<FactoryMessage> {
  const { factoryId } = args;
  const done = new AbortController();
  const stop = args.signal ? AbortSignal.any([args.signal, done.signal]) : done.signal;
  try {
    const notices = deps.notifier.product(args.productId, stop);
    const factory = await deps.factories.find(args.productId, factoryId);
    if (!factory) throw new NotFoundError("factory", factoryId);
    if (factory.state === "draining") yield { type: "drain" };
    // the offer as registered; its state as of connecting may be stale (a heartbeat brings a gone
    // factory back, a re-register ends a drain), so the nudge leaves the state to the claim
    const offer = { ...factory, state: "active" as const };
    yield { type: "work" };
    while (!stop.aborted) {
      const batch = await notices.next(deps.options.idleNudgeMs);
      if (stop.aborted) return; // an abort ends the wait with an empty batch: that is no idle period
      let work = batch.length === 0; // an idle period still nudges, as a fallback
      let created: Date | undefined;
      for (const notice of batch) {
        if (notice.kind === "drain") {
          if (notice.factoryId === factoryId) yield { type: "drain" };
          continue;
        }
        const { event } = notice;
        if (event.type === "cancel_requested" && event.data.factoryId === factoryId) {
          yield { type: "cancel", jobId: event.jobId, epoch: Number(event.data.epoch) };
        } else if (Notifier.isWorkEvent(event)) {
          const needs = runNeedsOf(event);
          if (!needs || canRun(offer, needs)) work = true;
          if (needs && event.type === "created" && canRun(offer, needs) && !(created && created < event.at))
            created = event.at;
        }
      }
      if (work) {
        yield { type: "work" };
        if (created) deps.metrics?.dispatched(created);
      }
    }
  } finally {
    done.abort();
  }
}

/** A `created` event names the job's engine and capabilities; other work events name neither. */
function runNeedsOf(event: JobEvent): RunNeeds | undefined {
  const { engine, capabilities } = event.data;
  if (typeof engine !== "string" || !Array.isArray(capabilities)) return undefined;
  return { engine, capabilities: capabilities.map(String) };
}
