import {
  AdvanceInput,
  AppendEventsInput,
  CheckpointInput,
  ClaimInput,
  CompleteInput,
  ConnectInput,
  type FactoryMessage,
  HeartbeatInput,
  RegisterInput,
  ReleaseInput,
  RenewInput,
} from "@gigafactory/schema";
import { TRPCError } from "@trpc/server";
import { factoryProcedure, router } from "../../trpc/trpc.js";
import { Notifier } from "../events/notifier.js";

const IDLE_NUDGE_MS = 15_000;

/** The factory's side of the protocol; every job write carries `{jobId, epoch}` and is fenced. */
export const factoryRouter = router({
  register: factoryProcedure.input(RegisterInput).mutation(async ({ ctx, input }) => ({
    factory: await ctx.services.factories.register(ctx.principal.productId, input),
    leaseTtlMs: ctx.services.config.leaseTtlMs,
    heartbeatMs: ctx.services.config.heartbeatMs,
  })),
  heartbeat: factoryProcedure.input(HeartbeatInput).mutation(async ({ ctx, input }) => {
    const factory = await ctx.services.factories.heartbeat(
      ctx.principal.productId,
      input.factoryId,
      input.load,
      input.health,
    );
    return { state: factory.state };
  }),
  claim: factoryProcedure.input(ClaimInput).mutation(async ({ ctx, input }) => ({
    jobs: await ctx.services.claims.claim(ctx.principal.productId, input.factoryId, input.max),
  })),
  renew: factoryProcedure
    .input(RenewInput)
    .mutation(({ ctx, input }) => ctx.services.leases.renew({ ...input, productId: ctx.principal.productId })),
  advance: factoryProcedure.input(AdvanceInput).mutation(async ({ ctx, input: { to, ...fence } }) => {
    const job = await ctx.services.leases.advance({ ...fence, productId: ctx.principal.productId }, to);
    return { stage: job.stage };
  }),
  appendEvents: factoryProcedure.input(AppendEventsInput).mutation(async ({ ctx, input: { events, ...fence } }) => {
    const written = await ctx.services.leases.appendEvents({ ...fence, productId: ctx.principal.productId }, events);
    return { lastSeq: written.at(-1)?.seq ?? 0 };
  }),
  checkpoint: factoryProcedure.input(CheckpointInput).mutation(async ({ ctx, input: { checkpoint, ...fence } }) => {
    await ctx.services.leases.checkpoint({ ...fence, productId: ctx.principal.productId }, checkpoint);
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

  /** Work nudges, cancels for jobs this factory holds, and drain; subscribe first, then look. */
  connect: factoryProcedure.input(ConnectInput).subscription(async function* ({
    ctx,
    input,
    signal,
  }): AsyncGenerator<FactoryMessage> {
    const stop = signal ?? new AbortController().signal;
    const notices = ctx.services.notifier.product(ctx.principal.productId, stop);
    const factory = await ctx.services.factories.find(ctx.principal.productId, input.factoryId);
    if (!factory) throw new TRPCError({ code: "NOT_FOUND", message: `factory ${input.factoryId} is not registered` });
    if (factory.state === "draining") yield { type: "drain" };
    yield { type: "work" };
    while (!stop.aborted) {
      const batch = await notices.next(IDLE_NUDGE_MS);
      let work = batch.length === 0; // an idle period still nudges, as a fallback
      for (const notice of batch) {
        if (notice.kind === "drain") {
          if (notice.factoryId === input.factoryId) yield { type: "drain" };
          continue;
        }
        const { event } = notice;
        if (event.type === "cancel_requested" && event.data.factoryId === input.factoryId) {
          yield { type: "cancel", jobId: event.jobId, epoch: Number(event.data.epoch) };
        } else if (Notifier.isWorkEvent(event) && couldRun(factory, event.data)) {
          work = true;
        }
      }
      if (work) yield { type: "work" };
    }
  }),
});

/** A `created` event names its engine and capabilities; other work events are nudged as they are. */
function couldRun(factory: { engines: string[]; capabilities: string[] }, data: Record<string, unknown>): boolean {
  if (typeof data.engine === "string" && !factory.engines.includes(data.engine)) return false;
  if (Array.isArray(data.capabilities) && !data.capabilities.every((cap) => factory.capabilities.includes(String(cap))))
    return false;
  return true;
}
