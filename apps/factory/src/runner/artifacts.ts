import { randomUUID } from "node:crypto";
import { type ArtifactPutMeta, eventText, type Fence, type NewEvent } from "@gigafactory/schema";
import type { GigafactoryClient } from "@gigafactory/sdk/client";
import { httpFetch } from "../client/http-fetch.js";
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

  /** Empty when the engine printed nothing. */
  text(): string {
    return this.lines.length ? `${this.lines.join("\n")}\n` : "";
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
  const response = await httpFetch(`${client.url}/artifacts?${query}`, {
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

export interface UploadArtifactOptions {
  client: Pick<GigafactoryClient, "url" | "authHeader">;
  meta: Fence & { runId: string };
  /** Runs the upload as a fenced write (retries, FENCED). */
  write: (upload: () => Promise<void>) => Promise<void>;
  logger: Logger;
  /** Sends a job event (the note that an artifact was not stored). */
  push: (event: NewEvent) => void;
}

/** An artifact of an attempt: its name, type and text (read when it is uploaded; empty: nothing to upload). */
export interface AttemptArtifact {
  name: "engine.log" | "changes.diff";
  contentType: string;
  body: () => Promise<string>;
}

export const engineLogArtifact = (log: EngineLog): AttemptArtifact => ({
  name: "engine.log",
  contentType: "text/plain; charset=utf-8",
  body: async () => log.text(),
});

export const diffArtifact = (diff: () => Promise<string>): AttemptArtifact => ({
  name: "changes.diff",
  contentType: "text/x-diff",
  body: diff,
});

/**
 * Uploads one artifact when it has content (an engine that printed nothing has no `engine.log`, a
 * job that changed nothing no `changes.diff`). Best effort: the attempt's work is done and
 * checkpointed, so an artifact the coordinator does not store (too large, refused, unreachable)
 * is a warning and a `log` event, not a failed attempt. A fence, or a runner stopped meanwhile,
 * still ends it (rejects).
 */
export async function uploadAttemptArtifact(opts: UploadArtifactOptions, artifact: AttemptArtifact): Promise<void> {
  const { name, contentType } = artifact;
  try {
    const text = await artifact.body();
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
}
