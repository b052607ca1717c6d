import { SpanKind } from "@opentelemetry/api";
import { FencedError } from "../../errors.js";
import { tracer } from "../tracing/tracing.js";
import type { FleetMetrics } from "./fleet-metrics.js";

/** The part of a tRPC middleware result this reads. */
type Outcome = { ok: true; data: unknown } | { ok: false; error: { code: string; cause?: unknown } };

/**
 * One span per tRPC call (named for its procedure; a no-op unless tracing is on), around
 * {@link countCall}.
 */
export function observeCall<R extends Outcome>(
  metrics: FleetMetrics,
  call: { path: string; type: string },
  next: () => Promise<R>,
): Promise<R> {
  return tracer.startActiveSpan(
    call.path,
    {
      kind: SpanKind.SERVER,
      attributes: { "rpc.system": "trpc", "rpc.method": call.path, "rpc.trpc.type": call.type },
    },
    async (span) => {
      try {
        const result = await countCall(metrics, call, next);
        if (!result.ok) span.setAttribute("rpc.trpc.code", result.error.code);
        return result;
      } finally {
        span.end();
      }
    },
  );
}

/**
 * Counts and times one tRPC call (the outermost middleware, `trpc.ts`): its procedure path (a
 * bounded set, the router's), its type and its outcome code; a FENCED answer counts as a fenced
 * write; a subscription's stream is counted open while it runs.
 */
async function countCall<R extends Outcome>(
  metrics: FleetMetrics,
  call: { path: string; type: string },
  next: () => Promise<R>,
): Promise<R> {
  if (!metrics.enabled) return next();
  const started = performance.now();
  const result = await next();
  if (!result.ok && result.error.cause instanceof FencedError) metrics.writeFenced();
  metrics.request(call.path, call.type, result.ok ? "OK" : result.error.code, performance.now() - started);
  if (result.ok && call.type === "subscription" && isAsyncIterable(result.data))
    return { ...result, data: countedOpen(result.data, () => metrics.subscriptionOpened(call.path)) };
  return result;
}

/** Counted from its first step to its end, so a stream that never starts is never counted. */
async function* countedOpen<T>(source: AsyncIterable<T>, open: () => () => void): AsyncGenerator<T> {
  const close = open();
  try {
    yield* source;
  } finally {
    close();
  }
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === "object" && value !== null && Symbol.asyncIterator in value;
}
