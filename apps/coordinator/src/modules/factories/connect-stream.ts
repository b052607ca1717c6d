import type { Factory, FactoryMessage } from "@gigafactory/schema";
import { NotFoundError } from "../../errors.js";
import type { StreamOptions } from "../../options.js";
import type { NoticeSource } from "../events/notifier.js";
import type { NudgeRouter, NudgeTarget } from "./nudge-router.js";

/** What `connect` reads: the factory as registered, within a product (the factories service). */
export interface FactoryReader {
  find(productId: string, factoryId: string): Promise<Factory | null>;
}

/** Where a connection is picked for `work` nudges (one {@link NudgeRouter} per coordinator). */
export type NudgeRegistry = Pick<NudgeRouter, "join">;

export interface ConnectDeps {
  factories: FactoryReader;
  notifier: Pick<NoticeSource, "factory">;
  nudges: NudgeRegistry;
  options: Pick<StreamOptions, "idleNudgeMs">;
  /** Draws the jitter of the idle nudge (0 ≤ x < 1); `Math.random` unless a test fixes it. */
  random?: () => number;
}

/**
 * A factory's side channel: `work` nudges, `cancel` for jobs it holds, and `drain`. Subscribes
 * first, then looks: a draining factory hears `drain` at once, and every factory one `work` to
 * claim what is already waiting. After that `work` comes when the {@link NudgeRouter} picks this
 * connection for a newly claimable job it can run (a few factories per job, not all of them),
 * and after a quiet spell of about `idleNudgeMs` (jittered to 0.5–1.5×, so a fleet's fallback
 * nudges do not all land at once) without one, for a missed wake-up.
 * Nudges are hints: the claim decides. Runs until `signal` aborts, then drops its subscription.
 */
export async function* connectFactory(
  deps: ConnectDeps,
  args: { productId: string; factoryId: string; signal?: AbortSignal | undefined },
): AsyncGenerator<FactoryMessage> {
  const { factoryId } = args;
  const done = new AbortController();
  const stop = args.signal ? AbortSignal.any([args.signal, done.signal]) : done.signal;
  const random = deps.random ?? Math.random;
  const idleMs = () => Math.round(deps.options.idleNudgeMs * (0.5 + random()));
  const target: NudgeTarget = { factoryId };
  let leave: (() => void) | undefined;
  try {
    const notices = deps.notifier.factory(args.productId, factoryId, stop);
    leave = deps.nudges.join(args.productId, target);
    const factory = await deps.factories.find(args.productId, factoryId);
    if (!factory) throw new NotFoundError("factory", factoryId);
    if (factory.state === "draining") yield { type: "drain" };
    // the offer as registered; its state as of connecting may be stale (a heartbeat brings a gone
    // factory back, a re-register ends a drain), so the nudge leaves the state to the claim
    target.offer = { ...factory, state: "active" as const };
    yield { type: "work" };
    let idleAt = Date.now() + idleMs();
    while (!stop.aborted) {
      const batch = await notices.next(Math.max(0, idleAt - Date.now()));
      if (stop.aborted) return; // an abort ends the wait with an empty batch: that is no idle period
      let work = batch.length === 0 && Date.now() >= idleAt; // a quiet spell still nudges, as a fallback
      for (const notice of batch) {
        if (notice.kind === "drain") {
          if (notice.factoryId === factoryId) yield { type: "drain" };
        } else if (notice.kind === "work") {
          if (notice.factoryIds.includes(factoryId)) work = true;
        } else if (notice.event.type === "cancel_requested" && notice.event.data.factoryId === factoryId) {
          yield { type: "cancel", jobId: notice.event.jobId, epoch: Number(notice.event.data.epoch) };
        }
      }
      if (Date.now() >= idleAt) work = true;
      if (work) {
        yield { type: "work" };
        idleAt = Date.now() + idleMs();
      }
    }
  } finally {
    leave?.();
    done.abort();
  }
}
