import type { GigafactoryClient } from "@gigafactory/sdk";
import { TRPCClientError } from "@trpc/client";

export class FencedSignal extends Error {
  constructor(readonly jobId: string) {
    super(`job ${jobId}: fenced — a newer lease holds it`);
    this.name = "FencedSignal";
  }
}

export function isFenced(error: unknown): boolean {
  if (!(error instanceof TRPCClientError)) return false;
  const data = error.data as { reason?: string; code?: string } | undefined;
  return data?.reason === "FENCED";
}

/** Network blips and restarts are retried; answers from the coordinator are not. */
function isTransient(error: unknown): boolean {
  if (!(error instanceof TRPCClientError)) return true;
  const code = (error.data as { code?: string } | undefined)?.code;
  return code === undefined || code === "INTERNAL_SERVER_ERROR" || code === "SERVICE_UNAVAILABLE" || code === "TIMEOUT";
}

/**
 * Runs one write the factory makes about a job. `FENCED` becomes {@link FencedSignal} at once;
 * transient failures are retried a few times with backoff before they are thrown.
 */
export async function fencedWrite<T>(jobId: string, write: () => Promise<T>, opts: { tries?: number; signal?: AbortSignal } = {}): Promise<T> {
  const tries = opts.tries ?? 5;
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      if (isFenced(error)) throw new FencedSignal(jobId);
      if (attempt >= tries || !isTransient(error) || opts.signal?.aborted) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 200 * 2 ** attempt)));
    }
  }
}

/** Uploads artifact bytes over the plain HTTP route; 409 with reason FENCED is a fence. */
export async function uploadArtifact(client: GigafactoryClient, meta: { jobId: string; epoch: number; factoryId: string; runId: string; name: string; contentType: string }, body: Buffer): Promise<void> {
  const query = new URLSearchParams({ jobId: meta.jobId, epoch: String(meta.epoch), factoryId: meta.factoryId, runId: meta.runId, name: meta.name });
  const response = await fetch(`${client.url}/artifacts?${query}`, {
    method: "PUT",
    headers: { ...client.authHeader(), "content-type": meta.contentType },
    body,
  });
  if (response.status === 409) throw new FencedSignal(meta.jobId);
  if (!response.ok) throw new Error(`artifact upload ${meta.name} failed: ${response.status} ${await response.text()}`);
}
