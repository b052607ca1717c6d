import { randomUUID } from "node:crypto";
import { type ArtifactPutMeta, eventText, type Fence, type NewEvent } from "@gigafactory/schema";
import type { GigafactoryClient } from "@gigafactory/sdk";
import type { Logger } from "../logger.js";
import { MAX_LOG_BYTES, UPLOAD_TIMEOUT_MS } from "../options.js";
import { FencedSignal, HttpStatusError } from "./fence.js";
import { StoppedSignal } from "./stop-reason.js";

/** The engine's output as one text, up to {@link MAX_LOG_BYTES}. */
export class EngineLog {
  private readonly lines: string[] = [];
  private bytes = 0;

  keep(event: NewEvent): void {
    if (this.bytes > MAX_LOG_BYTES) return;
    const line = `[${event.type}] ${eventText(event)}`;
    this.bytes += line.length + 1;
    this.lines.push(line);
  }

  text(): string {
    return `${this.lines.join("\n")}\n`;
  }
}

/**
 * Uploads artifact bytes over the plain HTTP route. 409 with reason FENCED is a fence; any other
 * error status is an {@link HttpStatusError} (retried by {@link fencedWrite} only when 5xx).
 */
export async function uploadArtifact(
  client: Pick<GigafactoryClient, "url" | "authHeader">,
  meta: Required<Omit<ArtifactPutMeta, "requestId">> & Pick<ArtifactPutMeta, "requestId">,
  body: Buffer,
): Promise<void> {
  const query = new URLSearchParams({
    jobId: meta.jobId,
    epoch: String(meta.epoch),
    factoryId: meta.factoryId,
    runId: meta.runId,
    name: meta.name,
    ...(meta.requestId ? { requestId: meta.requestId } : {}),
  });
  const response = await fetch(`${client.url}/artifacts?${query}`, {
    method: "PUT",
    headers: { ...client.authHeader(), "content-type": meta.contentType },
    body,
    signal: AbortSignal.timeout(UPLOAD_TIMEOUT_MS),
  });
  if (response.ok) return;
  const text = await response.text().catch(() => "");
  if (response.status === 409 && reasonOf(text) === "FENCED") throw new FencedSignal(meta.jobId);
  throw new HttpStatusError(
    response.status,
    `artifact upload ${meta.name} failed: ${response.status} ${text.slice(0, 500)}`,
  );
}

function reasonOf(body: string): unknown {
  try {
    const parsed: unknown = JSON.parse(body);
    return typeof parsed === "object" && parsed !== null && "reason" in parsed ? parsed.reason : undefined;
  } catch {
    return undefined;
  }
}

export interface UploadArtifactsOptions {
  client: Pick<GigafactoryClient, "url" | "authHeader">;
  meta: Fence & { runId: string };
  log: EngineLog;
  /** The workspace's changes since its base; empty when there are none. */
  diff: () => Promise<string>;
  /** Runs one upload as a fenced write (retries, FENCED). */
  write: (upload: () => Promise<void>) => Promise<void>;
  logger: Logger;
  /** Sends a job event (the note that an artifact was not stored). */
  push: (event: NewEvent) => void;
}

/**
 * Uploads `engine.log` and `changes.diff` (when there is a change), each on its own, concurrently. Best effort:
 * the attempt's work is done and checkpointed, so an artifact the coordinator does not store (too
 * large, refused, unreachable) is a warning and a `log` event, not a failed attempt. A fence, or a
 * runner stopped meanwhile, still ends it.
 */
export async function uploadArtifacts(opts: UploadArtifactsOptions): Promise<void> {
  const artifacts = [
    { name: "engine.log", contentType: "text/plain; charset=utf-8", body: async () => opts.log.text() },
    { name: "changes.diff", contentType: "text/x-diff", body: opts.diff },
  ];
  // both at once (the diff is read while the log uploads); a fence in either ends the attempt
  const results = await Promise.allSettled(
    artifacts.map(async ({ name, contentType, body }) => {
      try {
        const text = await body();
        // one request id per upload, kept across its retries: a retried upload is stored once
        const requestId = randomUUID();
        if (text)
          await opts.write(() =>
            uploadArtifact(opts.client, { ...opts.meta, name, contentType, requestId }, Buffer.from(text)),
          );
      } catch (error) {
        if (error instanceof FencedSignal || error instanceof StoppedSignal) throw error;
        const message = error instanceof Error ? error.message : String(error);
        opts.logger.warn({ err: error, artifact: name }, "artifact not stored");
        opts.push({
          type: "log",
          data: {
            stream: "stderr",
            source: "factory",
            line: `gigafactory: artifact ${name} was not stored: ${message.slice(0, 500)}`,
          },
        });
      }
    }),
  );
  for (const result of results) if (result.status === "rejected") throw result.reason;
}
