import {
  AdvanceInput,
  AppendEventsInput,
  AppendEventsOutput,
  CheckpointInput,
  ClaimInput,
  CompleteInput,
  ConnectInput,
  HeartbeatInput,
  HeartbeatOutput,
  RegisterInput,
  RegisterOutput,
  ReleaseInput,
  RenewInput,
  RenewOutput,
} from "@gigafactory/schema";
import { factoryProcedure, factoryTokenProcedure, router } from "../../trpc/trpc.js";
import { connectFactory } from "./connect-stream.js";

/**
 * The factory's side of the protocol; every job write carries `{jobId, epoch}` and is fenced.
 * Every procedure but `register` acts as the factory its input names, and only the token that
 * registered it may (`factoryProcedure`).
 */
export const factoriesRouter = router({
  /** Binds the factory id to the caller's token (see FactoriesService.register). */
  register: factoryTokenProcedure
    .input(RegisterInput)
    .output(RegisterOutput)
    .mutation(async ({ ctx, input }) => ({
      factory: await ctx.services.factories.register(ctx.principal, input),
      leaseTtlMs: ctx.options.lease.ttlMs,
      heartbeatMs: ctx.options.lease.heartbeatMs,
    })),
  heartbeat: factoryProcedure
    .input(HeartbeatInput)
    .output(HeartbeatOutput)
    .mutation(async ({ ctx, input: { factoryId, load, health } }) => ({
      state: (await ctx.services.factories.heartbeat(ctx.principal.productId, factoryId, load, health)).state,
    })),
  // no `.output()`: the hot path, and the claimed jobs are the service's own typed documents
  claim: factoryProcedure.input(ClaimInput).mutation(async ({ ctx, input }) => ({
    jobs: await ctx.services.claims.claim(
      ctx.principal.productId,
      input.factoryId,
      input.max,
      input.requestId,
      input.retry,
    ),
  })),
  renew: factoryProcedure
    .input(RenewInput)
    .output(RenewOutput)
    .mutation(({ ctx, input }) => ctx.services.leases.renew({ ...input, productId: ctx.principal.productId })),
  advance: factoryProcedure.input(AdvanceInput).mutation(async ({ ctx, input: { to, ...fence } }) => {
    const job = await ctx.services.leases.advance({ ...fence, productId: ctx.principal.productId }, to);
    return { stage: job.stage };
  }),
  appendEvents: factoryProcedure
    .input(AppendEventsInput)
    .output(AppendEventsOutput)
    .mutation(async ({ ctx, input: { events, requestId, ...fence } }) => {
      const written = await ctx.services.leases.appendEvents(
        { ...fence, productId: ctx.principal.productId },
        events,
        requestId,
      );
      return { lastSeq: written.at(-1)?.seq ?? 0 };
    }),
  checkpoint: factoryProcedure
    .input(CheckpointInput)
    .mutation(async ({ ctx, input: { checkpoint, requestId, ...fence } }) => {
      await ctx.services.leases.checkpoint({ ...fence, productId: ctx.principal.productId }, checkpoint, requestId);
      return { ok: true as const };
    }),
  complete: factoryProcedure
    .input(CompleteInput)
    .mutation(async ({ ctx, input: { jobId, epoch, factoryId, ...completion } }) => {
      const job = await ctx.services.leases.complete(
        { jobId, epoch, factoryId, productId: ctx.principal.productId },
        completion,
      );
      return { stage: job.stage };
    }),
  release: factoryProcedure.input(ReleaseInput).mutation(async ({ ctx, input: { checkpoint, reason, ...fence } }) => {
    const job = await ctx.services.leases.release(
      { ...fence, productId: ctx.principal.productId },
      { checkpoint, reason },
    );
    return { stage: job.stage };
  }),
  /** Work nudges, cancels for jobs this factory holds, and drain (see connect-stream.ts). */
  connect: factoryProcedure.input(ConnectInput).subscription(({ ctx, input, signal }) =>
    connectFactory(
      {
        factories: ctx.services.factories,
        notifier: ctx.services.notifier,
        nudges: ctx.services.nudges,
        options: ctx.options.streams,
      },
      { productId: ctx.principal.productId, factoryId: input.factoryId, signal },
    ),
  ),
});
