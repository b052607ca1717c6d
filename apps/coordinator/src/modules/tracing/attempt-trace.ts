import type { Job, TraceContext } from "@gigafactory/schema";
import { type Link, SpanKind, trace } from "@opentelemetry/api";
import { contextFrom, traceContextOf, tracer } from "./tracing.js";

/**
 * The claim's span, which starts an attempt's trace: under the span that created the job for its
 * first run (so create → claim → engine → verify → complete is one trace), a new trace linked to
 * the creation for later runs (one trace per attempt). Returns the context the factory continues
 * from, carried in the claim answer; undefined when tracing is off.
 */
export function claimSpan(job: Job, factoryId: string, runId: string): TraceContext | undefined {
  const created = job.traceparent ? contextFrom({ traceparent: job.traceparent }) : undefined;
  const createdSpan = created ? trace.getSpanContext(created) : undefined;
  const first = (job.runCount ?? job.attempt) <= 1;
  const links: Link[] = createdSpan && !first ? [{ context: createdSpan }] : [];
  const span = tracer.startSpan(
    "gf.claim",
    {
      kind: SpanKind.INTERNAL,
      links,
      attributes: {
        "gf.job.id": job._id,
        "gf.run.id": runId,
        "gf.job.attempt": job.attempt,
        "gf.factory.id": factoryId,
        "gf.engine": job.engine,
      },
    },
    first && created ? created : contextFrom(undefined),
  );
  span.end();
  return traceContextOf(trace.setSpan(contextFrom(undefined), span));
}
