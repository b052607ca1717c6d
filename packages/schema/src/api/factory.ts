import { z } from "zod";
import { ArtifactName } from "../artifact.js";
import { NewEvent, EVENT_LIMITS } from "../event.js";
import { Checkpoint, Job } from "../job.js";
import { Capability, EngineId, Epoch, FactoryId, Json, Reason, RequestId, RunId } from "../primitives.js";
import { ExitInfo, Insights, VerifyResult } from "../run.js";
import { ActiveStage, CompletionResult } from "../stages.js";
import { Factory, FactoryDescriptor, FactoryHealth, FactoryLoad, FactoryState } from "../factory.js";

export const RegisterInput = z
  .object({
    factoryId: FactoryId,
    descriptor: FactoryDescriptor,
    capabilities: z.array(Capability).max(100),
    engines: z.array(EngineId).min(1).max(50),
    seatLimit: z.number().int().min(1).max(256),
  })
  .strict();
export type RegisterInput = z.infer<typeof RegisterInput>;

export const RegisterOutput = z.object({
  factory: Factory,
  leaseTtlMs: z.number().int().positive(),
  heartbeatMs: z.number().int().positive(),
});
export type RegisterOutput = z.infer<typeof RegisterOutput>;

export const HeartbeatInput = z.object({ factoryId: FactoryId, load: FactoryLoad, health: FactoryHealth }).strict();
export const HeartbeatOutput = z.object({ state: FactoryState });

export const ClaimInput = z
  .object({
    factoryId: FactoryId,
    max: z.number().int().min(1).max(32).default(1),
    /** A retry with the same id gets the jobs the first try leased to this factory, not new ones. */
    requestId: RequestId.optional(),
    /**
     * Whether this `requestId` was sent before (its answer lost): `false` says it is a first try, so
     * the coordinator need not look for jobs an earlier try leased. Absent: not known, looked for.
     */
    retry: z.boolean().optional(),
  })
  .strict();
export type ClaimInput = z.input<typeof ClaimInput>;

/** A job handed to a factory together with its lease. */
/** W3C trace context (`traceparent`, `tracestate` headers) carried in a message instead of headers. */
export const TraceContext = z.object({
  traceparent: z.string().regex(/^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/),
  tracestate: z.string().max(512).optional(),
});
export type TraceContext = z.infer<typeof TraceContext>;

export const ClaimedJob = z.object({
  job: Job,
  runId: RunId,
  epoch: Epoch,
  leaseExpiresAt: z.date(),
  leaseTtlMs: z.number().int().positive(),
  profileSnapshot: Json.optional(),
  /** W3C trace context of the claim's span, so the factory's attempt spans join the job's trace (tracing on only). */
  trace: TraceContext.optional(),
});
export type ClaimedJob = z.infer<typeof ClaimedJob>;

/** Every write a factory makes about a job carries this fence. */
export const Fence = z.object({ jobId: z.string().min(1).max(128), epoch: Epoch, factoryId: FactoryId });
export type Fence = z.infer<typeof Fence>;
/** A fence as the coordinator applies it: the caller's product (from its token) added. */
export type TenantFence = Fence & { productId: string };

export const RenewInput = Fence.strict();
export const RenewOutput = z.object({ expiresAt: z.date(), cancelRequested: z.boolean() });

export const AdvanceInput = Fence.extend({ to: ActiveStage }).strict();

/** `requestId` (here and on checkpoint and artifact uploads): a retry with the same id is answered, not applied again. */
export const AppendEventsInput = Fence.extend({
  events: z.array(NewEvent).min(1).max(EVENT_LIMITS.maxBatch),
  requestId: RequestId.optional(),
}).strict();
export const AppendEventsOutput = z.object({ lastSeq: z.number().int().nonnegative() });

export const CheckpointInput = Fence.extend({ checkpoint: Checkpoint, requestId: RequestId.optional() }).strict();

export const CompleteInput = Fence.extend({
  result: CompletionResult,
  exit: ExitInfo.optional(),
  verifyResult: VerifyResult.optional(),
  insights: Insights.default({}),
  reason: Reason.optional(),
}).strict();
export type CompleteInput = z.input<typeof CompleteInput>;

export const ReleaseInput = Fence.extend({
  checkpoint: Checkpoint.optional(),
  reason: Reason.default("released"),
}).strict();

export const ConnectInput = z.object({ factoryId: FactoryId }).strict();

/** What a factory hears on its `connect` subscription. */
export const FactoryMessage = z.discriminatedUnion("type", [
  z.object({ type: z.literal("work") }),
  z.object({ type: z.literal("cancel"), jobId: z.string(), epoch: Epoch }),
  z.object({ type: z.literal("drain") }),
]);
export type FactoryMessage = z.infer<typeof FactoryMessage>;

export const ArtifactPutMeta = Fence.extend({
  runId: RunId,
  name: ArtifactName,
  contentType: z.string().max(200).default("application/octet-stream"),
  requestId: RequestId.optional(),
}).strict();
export type ArtifactPutMeta = z.input<typeof ArtifactPutMeta>;

export { EngineId };
