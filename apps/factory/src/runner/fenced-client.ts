import type { GigafactoryClient } from "@gigafactory/sdk";
import { TRPCClientError } from "@trpc/client";

type FactoryProcedures = GigafactoryClient["trpc"]["factory"];
type RunnerProcedure = "renew" | "appendEvents" | "advance" | "checkpoint" | "complete" | "release";
/** A procedure as a plain function of its input, so that a test can stand in for the coordinator. */
type Mutation<K extends RunnerProcedure> = {
  mutate(
    input: Parameters<FactoryProcedures[K]["mutate"]>[0],
  ): Promise<Awaited<ReturnType<FactoryProcedures[K]["mutate"]>>>;
};
/** The part of the SDK client a job runner uses. */
export type RunnerClient = Pick<GigafactoryClient, "url" | "authHeader"> & {
  trpc: { factory: { [K in RunnerProcedure]: Mutation<K> } };
};

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

/** A plain HTTP route (artifact bytes) answered with an error status. */
export class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "HttpStatusError";
  }
}

/**
 * Network blips and restarts are retried; answers from the coordinator are not, except 5xx.
 * A request that ran out its own time (`AbortSignal.timeout`) has spent its budget: not retried.
 */
export function isTransient(error: unknown): boolean {
  if (error instanceof HttpStatusError) return error.status >= 500;
  if (error instanceof Error && error.name === "TimeoutError") return false;
  if (!(error instanceof TRPCClientError)) return true;
  const code = (error.data as { code?: string } | undefined)?.code;
  return code === undefined || code === "INTERNAL_SERVER_ERROR" || code === "SERVICE_UNAVAILABLE" || code === "TIMEOUT";
}

/**
 * Runs one write the factory makes about a job. `FENCED` becomes {@link FencedSignal} at once;
 * transient failures are retried a few times with backoff before they are thrown.
 */
export async function fencedWrite<T>(
  jobId: string,
  write: () => Promise<T>,
  opts: { tries?: number; signal?: AbortSignal } = {},
): Promise<T> {
  const tries = opts.tries ?? 5;
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      if (error instanceof FencedSignal) throw error;
      if (isFenced(error)) throw new FencedSignal(jobId);
      if (attempt >= tries || !isTransient(error) || opts.signal?.aborted) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 200 * 2 ** attempt)));
    }
  }
}

/** A stalled upload must not hold the job (and its lease) forever. */
const UPLOAD_TIMEOUT_MS = 5 * 60_000;

/**
 * Uploads artifact bytes over the plain HTTP route. 409 with reason FENCED is a fence; any other
 * error status is an {@link HttpStatusError} (retried by {@link fencedWrite} only when 5xx).
 */
export async function uploadArtifact(
  client: Pick<GigafactoryClient, "url" | "authHeader">,
  meta: { jobId: string; epoch: number; factoryId: string; runId: string; name: string; contentType: string },
  body: Buffer,
): Promise<void> {
  const query = new URLSearchParams({
    jobId: meta.jobId,
    epoch: String(meta.epoch),
    factoryId: meta.factoryId,
    runId: meta.runId,
    name: meta.name,
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
