import type { NewEvent } from "@gigafactory/schema";
import type { GigafactoryClient } from "@gigafactory/sdk";
import type { Logger } from "../logger.js";
import { FencedSignal, uploadArtifact } from "./fenced-client.js";
import { StoppedSignal } from "./stop-reason.js";

/** The full engine log kept for the `engine.log` artifact; events carry every line anyway. */
const MAX_LOG_BYTES = 16 * 1024 * 1024;

/** The engine's output as one text, up to {@link MAX_LOG_BYTES}. */
export class EngineLog {
  private readonly lines: string[] = [];
  private bytes = 0;

  keep(event: NewEvent): void {
    if (this.bytes > MAX_LOG_BYTES) return;
    const text =
      typeof event.data.line === "string"
        ? event.data.line
        : typeof event.data.text === "string"
          ? event.data.text
          : JSON.stringify(event.data);
    const line = `[${event.type}] ${text}`;
    this.bytes += line.length + 1;
    this.lines.push(line);
  }

  text(): string {
    return `${this.lines.join("\n")}\n`;
  }
}

export interface UploadArtifactsOptions {
  client: Pick<GigafactoryClient, "url" | "authHeader">;
  meta: { jobId: string; epoch: number; factoryId: string; runId: string };
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
 * Uploads `engine.log` and `changes.diff` (when there is a change), each on its own. Best effort:
 * the attempt's work is done and checkpointed, so an artifact the coordinator does not store (too
 * large, refused, unreachable) is a warning and a `log` event, not a failed attempt. A fence, or a
 * runner stopped meanwhile, still ends it.
 */
export async function uploadArtifacts(opts: UploadArtifactsOptions): Promise<void> {
  const artifacts = [
    { name: "engine.log", contentType: "text/plain; charset=utf-8", body: async () => opts.log.text() },
    { name: "changes.diff", contentType: "text/x-diff", body: opts.diff },
  ];
  for (const { name, contentType, body } of artifacts) {
    try {
      const text = await body();
      if (text)
        await opts.write(() => uploadArtifact(opts.client, { ...opts.meta, name, contentType }, Buffer.from(text)));
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
}
