import type { IndexDescription } from "mongodb";
import type { Collections } from "./collections.js";

/**
 * Every index, in one place, created at start-up. Each hot query names the index it uses:
 * claim → jobs.claim, reaper → jobs.reaper and jobs.settle_owed, list → jobs.list_*, watch → events.seq,
 * dashboard overview → jobs.list_stage (counts) and jobs.queue_age (the oldest wait).
 */
export const INDEXES: { [K in keyof Collections]?: IndexDescription[] } = {
  jobs: [
    { key: { productId: 1, idempotencyKey: 1 }, name: "idempotency", unique: true },
    // the claim's equality fields, then its sort (CLAIM_ORDER) in order, so a real mongod walks
    // the index in claim order and stops at the first match instead of sorting the inbox
    { key: { productId: 1, stage: 1, kind: 1, cancelRequested: 1, priority: -1, queuedAt: 1, _id: 1 }, name: "claim" },
    { key: { stage: 1, "lease.expiresAt": 1 }, name: "reaper" },
    // metrics: jobs per stage and the oldest queued job (`modules/metrics/metrics.repository.ts`)
    { key: { stage: 1, queuedAt: 1 }, name: "fleet_queue_age" },
    { key: { productId: 1, _id: -1 }, name: "list_all" },
    { key: { productId: 1, stage: 1, _id: -1 }, name: "list_stage" },
    { key: { productId: 1, stage: 1, queuedAt: 1 }, name: "queue_age" },
    { key: { productId: 1, deps: 1 }, name: "dependents" },
    { key: { productId: 1, parentId: 1 }, name: "children" },
    { key: { productId: 1, trackerItemId: 1 }, name: "tracker" },
    // the echo outbox's pass: tracker jobs whose stage the item does not show yet
    { key: { productId: 1, trackerItemId: 1, stage: 1, trackerEchoed: 1 }, name: "tracker_echo" },
    { key: { "lease.holder": 1, stage: 1 }, name: "held_by" },
    { key: { cancelRequested: 1, stage: 1 }, name: "cancel_backstop" },
    // only jobs owing follow-ups carry the field, briefly: a sparse index stays tiny
    { key: { "settle.owedSince": 1 }, name: "settle_owed", sparse: true },
  ],
  runs: [
    { key: { jobId: 1, attempt: 1 }, name: "by_job" },
    { key: { productId: 1, endedAt: 1 }, name: "insights" },
  ],
  events: [
    { key: { jobId: 1, seq: 1 }, name: "seq", unique: true },
    { key: { productId: 1, _id: 1 }, name: "feed" },
  ],
  factories: [{ key: { productId: 1, factoryId: 1 }, name: "factory", unique: true }],
  profiles: [{ key: { productId: 1, name: 1, version: 1 }, name: "version", unique: true }],
  artifacts: [{ key: { jobId: 1, name: 1 }, name: "by_job" }],
  // the claim reads the product's held lock names
  locks: [{ key: { productId: 1, name: 1 }, name: "held" }],
  // the firing loop's `due` and `nearest`; `_id` is `<productId>/<id>`
  schedules: [
    { key: { paused: 1, attentionAt: 1 }, name: "attention" },
    { key: { productId: 1, id: 1 }, name: "list" },
  ],
  // a webhook delivery is stored once (`_id` is its X-GitHub-Delivery); the sweep reads the queued ones
  trackerDeliveries: [{ key: { status: 1, lockedUntil: 1 }, name: "queued" }],
  trackerEchoes: [{ key: { due: 1, lockedUntil: 1 }, name: "due" }],
};

export async function ensureIndexes(cols: Collections): Promise<void> {
  await Promise.all(
    Object.entries(INDEXES).map(([name, specs]) =>
      specs.length ? cols[name as keyof Collections].createIndexes(specs) : undefined,
    ),
  );
}
