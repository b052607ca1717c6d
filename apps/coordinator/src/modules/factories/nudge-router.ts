import { type JobEvent, type RunNeeds, type RunOffer, canRun } from "@gigafactory/schema";
import type { StreamOptions } from "../../options.js";
import type { NoticeSource } from "../events/notifier.js";
import type { FleetMetrics } from "../metrics/fleet-metrics.js";

/** Events after which a job is claimable (again): its needs are nudged for until it is claimed. */
const CLAIMABLE = new Set(["created", "requeued", "released", "lost", "retried", "approved"]);
/** Events that end a job's claim or its life: they may unblock a dependent or free a lock. */
const FREEING = new Set(["completed", "failed", "cancelled"]);
/** Events after which nobody needs a nudge for the job any more. */
const TAKEN = new Set(["claimed", "completed", "failed", "cancelled"]);
/** Bounds on what is remembered per product, so a flood of jobs cannot grow memory without end. */
const MAX_WAITING = 10_000;
const MAX_NEEDS = 20_000;
/** Parked jobs re-armed by one freeing event (the rest wait for the next one or the idle nudge). */
const REARM_PER_FREE = 4;

/** One connected factory, as the router sees it. `offer` is unset until `connect` has read it. */
export interface NudgeTarget {
  factoryId: string;
  offer?: RunOffer | undefined;
}

interface Waiting {
  needs: RunNeeds | undefined;
  /** The creation time, for the create → nudge metric (first nudge only). */
  createdAt?: Date | undefined;
  rounds: number;
  dueAt: number;
}

interface ProductState {
  targets: NudgeTarget[];
  cursor: number;
  stop: AbortController;
  /** Jobs nudged for and not yet seen claimed, by job id. */
  waiting: Map<string, Waiting>;
  /** Jobs nudged for every capable factory without a claim (blocked by a dependency or a lock). */
  parked: Map<string, RunNeeds | undefined>;
  /** What each recent job needs, from its `created` event (a requeue names neither). */
  needs: Map<string, RunNeeds>;
}

export type NudgeSink = (productId: string, factoryIds: string[]) => void;

/**
 * Decides which connected factories hear `work`, per coordinator. A claimable job (created,
 * requeued, released, ...) is nudged to at most `nudgeFanout` factories that can run it, picked
 * round-robin so the load spreads; if it is still unclaimed `nudgeRetryMs` later the next
 * `nudgeFanout` are nudged, for up to `nudgeRounds` rounds or until every capable factory has
 * been (then it is parked: it is probably blocked on a dependency or a lock, and a later
 * completion nudges for a few parked jobs once more, oldest first). A completion
 * nudges nobody unless something is parked (the completing factory claims again by itself).
 * Nudges are hints; the claim decides, and each connection's idle nudge remains the safety net.
 * This replaces sending `work` to every factory on every event, which made 1,000 factories
 * stampede the claim path (issue 16).
 */
export class NudgeRouter {
  private readonly products = new Map<string, ProductState>();

  constructor(
    private readonly deps: {
      notifier: Pick<NoticeSource, "product">;
      send: NudgeSink;
      options: Pick<StreamOptions, "nudgeFanout" | "nudgeRetryMs" | "nudgeRounds">;
      metrics?: Pick<FleetMetrics, "dispatched"> | undefined;
    },
  ) {}

  /** Adds a connection; returns how to take it out again. */
  join(productId: string, target: NudgeTarget): () => void {
    let state = this.products.get(productId);
    if (!state) {
      state = {
        targets: [],
        cursor: 0,
        stop: new AbortController(),
        waiting: new Map(),
        parked: new Map(),
        needs: new Map(),
      };
      this.products.set(productId, state);
      void this.run(productId, state);
    }
    state.targets.push(target);
    const joined = state;
    return () => {
      const at = joined.targets.indexOf(target);
      if (at >= 0) joined.targets.splice(at, 1);
      if (joined.targets.length === 0 && this.products.get(productId) === joined) {
        this.products.delete(productId);
        joined.stop.abort();
      }
    };
  }

  /** Jobs the router is still nudging for, over every product (tests and status). */
  get tracked(): number {
    let count = 0;
    for (const state of this.products.values()) count += state.waiting.size + state.parked.size;
    return count;
  }

  private async run(productId: string, state: ProductState): Promise<void> {
    const notices = this.deps.notifier.product(productId, state.stop.signal);
    while (!state.stop.signal.aborted) {
      const batch = await notices.next(this.deps.options.nudgeRetryMs);
      if (state.stop.signal.aborted) return;
      const nudged = new Set<string>();
      for (const notice of batch) if (notice.kind === "event") this.observe(state, notice.event, nudged);
      this.retry(state, nudged);
      if (nudged.size > 0) this.deps.send(productId, [...nudged]);
    }
  }

  private observe(state: ProductState, event: JobEvent, nudged: Set<string>): void {
    const { jobId } = event;
    if (event.type === "created") {
      const needs = needsOf(event);
      if (needs) remember(state.needs, jobId, needs, MAX_NEEDS);
    }
    if (TAKEN.has(event.type)) {
      state.waiting.delete(jobId);
      state.parked.delete(jobId);
    }
    if (event.type === "completed" || event.type === "cancelled") state.needs.delete(jobId);
    if (CLAIMABLE.has(event.type)) {
      const needs = state.needs.get(jobId);
      const entry: Waiting = { needs, createdAt: event.type === "created" ? event.at : undefined, rounds: 0, dueAt: 0 };
      state.parked.delete(jobId);
      remember(state.waiting, jobId, entry, MAX_WAITING);
      this.nudgeFor(state, entry, nudged);
    } else if (FREEING.has(event.type)) {
      let rearmed = 0;
      for (const [parkedId, needs] of state.parked) {
        if (rearmed++ >= REARM_PER_FREE) break;
        state.parked.delete(parkedId);
        // one round only: a parked job is likely still blocked, and re-parked at the end of the line
        const entry: Waiting = { needs, rounds: this.deps.options.nudgeRounds - 1, dueAt: 0 };
        remember(state.waiting, parkedId, entry, MAX_WAITING);
        this.nudgeFor(state, entry, nudged);
      }
    }
  }

  private retry(state: ProductState, nudged: Set<string>): void {
    const now = Date.now();
    for (const [jobId, entry] of state.waiting) {
      if (entry.dueAt > now) continue;
      const capable = state.targets.filter((target) => fits(target, entry.needs)).length;
      const { nudgeFanout, nudgeRounds } = this.deps.options;
      if (entry.rounds * nudgeFanout >= capable || entry.rounds >= nudgeRounds) {
        // enough factories have been told: leave it for a freeing event or the idle nudge
        state.waiting.delete(jobId);
        remember(state.parked, jobId, entry.needs, MAX_WAITING);
        continue;
      }
      this.nudgeFor(state, entry, nudged);
    }
  }

  /** Picks the next `nudgeFanout` capable factories after the cursor, not yet picked this batch. */
  private nudgeFor(state: ProductState, entry: Waiting, nudged: Set<string>): void {
    const { targets } = state;
    const want = this.deps.options.nudgeFanout;
    const start = state.cursor;
    let picked = 0;
    for (let step = 0; step < targets.length && picked < want; step++) {
      const index = (start + step) % targets.length;
      const target = targets[index];
      if (!target || !fits(target, entry.needs)) continue;
      picked++;
      nudged.add(target.factoryId);
      state.cursor = index + 1;
    }
    entry.rounds++;
    entry.dueAt = Date.now() + this.deps.options.nudgeRetryMs;
    if (picked > 0 && entry.createdAt) {
      this.deps.metrics?.dispatched(entry.createdAt);
      entry.createdAt = undefined;
    }
  }
}

/** A target fits when its offer is known and can run the needs (any active offer when unknown). */
function fits(target: NudgeTarget, needs: RunNeeds | undefined): boolean {
  if (!target.offer) return false;
  return needs ? canRun(target.offer, needs) : target.offer.state === "active";
}

function remember<V>(map: Map<string, V>, key: string, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > max) {
    const oldest = map.keys().next().value;
    if (oldest !== undefined) map.delete(oldest);
  }
}

/** A `created` event names the job's engine and capabilities; other work events name neither. */
export function needsOf(event: JobEvent): RunNeeds | undefined {
  const { engine, capabilities } = event.data;
  if (typeof engine !== "string" || !Array.isArray(capabilities)) return undefined;
  return { engine, capabilities: capabilities.map(String) };
}
