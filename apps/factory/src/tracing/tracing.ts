import type { TraceContext } from "@gigafactory/schema";
import { type Context, ROOT_CONTEXT, type Span, SpanStatusCode, context, propagation, trace } from "@opentelemetry/api";

/**
 * Spans go through `@opentelemetry/api` only: without an SDK registered (no
 * `OTEL_EXPORTER_OTLP_ENDPOINT`) every call below is a no-op and nothing is loaded or sent.
 */
export const tracer = trace.getTracer("gigafactory-factory");

/** The W3C trace context of `ctx` (the active one by default); undefined when tracing is off. */
export function traceContextOf(ctx: Context = context.active()): TraceContext | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  if (!carrier.traceparent) return undefined;
  return { traceparent: carrier.traceparent, ...(carrier.tracestate ? { tracestate: carrier.tracestate } : {}) };
}

/** A context whose parent is the span `carrier` names (the root context when there is none). */
export function contextFrom(carrier: TraceContext | undefined): Context {
  return carrier ? propagation.extract(ROOT_CONTEXT, carrier) : ROOT_CONTEXT;
}

/** Ends `span` with an error status when `error` is set. */
export function endSpan(span: Span, error?: unknown): void {
  if (error !== undefined) {
    span.recordException(error instanceof Error ? error : String(error));
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
  span.end();
}

/**
 * Loads the SDK and the OTLP/HTTP exporter, only when an endpoint is configured (the exporter
 * reads the standard `OTEL_EXPORTER_OTLP_*` variables itself). Returns the flush-and-stop step.
 */
export async function startTracing(opts: {
  serviceName: string;
  endpoint: string | undefined;
}): Promise<() => Promise<void>> {
  if (!opts.endpoint) return async () => undefined;
  const [{ NodeTracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, { resourceFromAttributes }] =
    await Promise.all([
      import("@opentelemetry/sdk-trace-node"),
      import("@opentelemetry/exporter-trace-otlp-http"),
      import("@opentelemetry/resources"),
    ]);
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ "service.name": opts.serviceName }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  // the AsyncLocalStorage context manager and the W3C propagator
  provider.register();
  return () => provider.shutdown();
}
