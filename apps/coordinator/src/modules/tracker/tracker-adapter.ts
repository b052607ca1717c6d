import type { EchoState, ParsedTrackerRef, TrackerItem } from "@gigafactory/schema";

/**
 * One tracker (GitHub Issues, the Items API, …) as the tracker service uses it. A new tracker is
 * one file implementing this; nothing else changes. Every method throws `TrackerError` with the
 * tracker's status when the tracker refuses.
 */
export interface TrackerAdapter {
  /** The reference prefix this adapter answers (`github`, `items`). */
  readonly kind: ParsedTrackerRef["kind"];
  /** The item, or `TrackerError` with status 404 when it does not exist. */
  fetchItem(ref: ParsedTrackerRef): Promise<TrackerItem>;
  /** Shows `state` on the item (labels or a status), replacing the state shown before. */
  setState(ref: ParsedTrackerRef, state: EchoState): Promise<void>;
  /** Adds a comment (markdown). */
  comment(ref: ParsedTrackerRef, body: string): Promise<void>;
  /** Items carrying the trigger, for the polling safety net. */
  listTriggered(): Promise<TrackerItem[]>;
}

/** A tracker's refusal or failure, with its HTTP status when it gave one. */
export class TrackerError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
  ) {
    super(message);
    this.name = "TrackerError";
  }
}
