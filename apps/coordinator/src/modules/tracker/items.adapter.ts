import type { EchoState, ParsedTrackerRef, TrackerItem } from "@gigafactory/schema";
import { z } from "zod";
import { type TrackerAdapter, TrackerError } from "./tracker-adapter.js";

/** An item as the predecessor's Items API returns it (seed 001): extra fields are ignored. */
const ApiItem = z.object({
  id: z.union([z.string(), z.number()]).transform(String),
  title: z.string().default(""),
  description: z
    .string()
    .nullish()
    .transform((text) => text ?? ""),
  labels: z.array(z.string()).default([]),
  status: z.string().default("open"),
});

/** Seed 001's status mapping: in progress, done, blocked. */
export const ITEM_STATUS: Readonly<Record<EchoState, string>> = {
  in_progress: "in_progress",
  done: "done",
  blocked: "blocked",
};

/**
 * The predecessor's Items API over plain HTTP with a bearer token: `GET /items/:id`,
 * `PATCH /items/:id {status}`, `POST /items/:id/comments {body}`.
 */
export class ItemsAdapter implements TrackerAdapter {
  readonly kind = "items" as const;

  constructor(
    private readonly opts: { apiUrl: string; token: string | undefined; timeoutMs: number; triggerLabel?: string },
  ) {}

  async fetchItem(ref: ParsedTrackerRef): Promise<TrackerItem> {
    const id = itemId(ref);
    const parsed = ApiItem.safeParse(await this.request("GET", `/items/${encodeURIComponent(id)}`));
    if (!parsed.success) throw new TrackerError(`Items API: item ${id} is not an item`, undefined);
    const item = parsed.data;
    return {
      ref: `items:${id}`,
      title: item.title,
      body: item.description,
      labels: item.labels,
      state: item.status,
    };
  }

  async setState(ref: ParsedTrackerRef, state: EchoState): Promise<void> {
    await this.request("PATCH", `/items/${encodeURIComponent(itemId(ref))}`, { status: ITEM_STATUS[state] });
  }

  async comment(ref: ParsedTrackerRef, body: string): Promise<void> {
    await this.request("POST", `/items/${encodeURIComponent(itemId(ref))}/comments`, { body });
  }

  async listTriggered(): Promise<TrackerItem[]> {
    const label = this.opts.triggerLabel ?? "gigafactory";
    const answer = await this.request("GET", `/items?label=${encodeURIComponent(label)}`);
    const items = z.array(ApiItem).safeParse((answer as { items?: unknown })?.items ?? answer);
    if (!items.success) throw new TrackerError("Items API: the item list is not a list of items", undefined);
    return items.data.map((item) => ({
      ref: `items:${item.id}`,
      title: item.title,
      body: item.description,
      labels: item.labels,
      state: item.status,
    }));
  }

  private async request(method: string, path: string, body?: unknown): Promise<unknown> {
    const url = `${this.opts.apiUrl.replace(/\/+$/, "")}${path}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: {
          accept: "application/json",
          ...(this.opts.token ? { authorization: `Bearer ${this.opts.token}` } : {}),
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.opts.timeoutMs),
      });
    } catch (error) {
      throw new TrackerError(`Items API: ${method} ${path}: ${(error as Error).message}`, undefined);
    }
    if (!response.ok) {
      const reason = response.status === 404 ? "not found" : `HTTP ${response.status}`;
      throw new TrackerError(`Items API: ${method} ${path}: ${reason}`, response.status);
    }
    const text = await response.text();
    return text ? (JSON.parse(text) as unknown) : undefined;
  }
}

function itemId(ref: ParsedTrackerRef): string {
  if (ref.kind !== "items") throw new TrackerError(`not an Items reference: ${ref.kind}`, undefined);
  return ref.id;
}
