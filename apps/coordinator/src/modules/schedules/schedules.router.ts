import {
  ScheduleBackfillInput,
  ScheduleDefinition,
  ScheduleListInput,
  SchedulePauseInput,
  ScheduleRef,
} from "@gigafactory/schema";
import { router, serviceProcedure } from "../../trpc/trpc.js";

/** Schedules of the caller's product (admin and service tokens), see schedules.service.ts. */
export const schedulesRouter = router({
  create: serviceProcedure
    .input(ScheduleDefinition)
    .mutation(({ ctx, input }) => ctx.services.schedules.create(ctx.principal.productId, input)),
  update: serviceProcedure
    .input(ScheduleDefinition)
    .mutation(({ ctx, input }) => ctx.services.schedules.update(ctx.principal.productId, input)),
  get: serviceProcedure
    .input(ScheduleRef)
    .query(({ ctx, input }) => ctx.services.schedules.show(ctx.principal.productId, input.id)),
  list: serviceProcedure
    .input(ScheduleListInput)
    .query(({ ctx, input }) => ctx.services.schedules.list(ctx.principal.productId, input.limit)),
  pause: serviceProcedure
    .input(SchedulePauseInput)
    .mutation(({ ctx, input }) => ctx.services.schedules.pause(ctx.principal.productId, input.id, input.note)),
  resume: serviceProcedure
    .input(ScheduleRef)
    .mutation(({ ctx, input }) => ctx.services.schedules.resume(ctx.principal.productId, input.id)),
  delete: serviceProcedure
    .input(ScheduleRef)
    .mutation(({ ctx, input }) => ctx.services.schedules.remove(ctx.principal.productId, input.id)),
  trigger: serviceProcedure
    .input(ScheduleRef)
    .mutation(({ ctx, input }) => ctx.services.schedules.trigger(ctx.principal.productId, input.id)),
  backfill: serviceProcedure
    .input(ScheduleBackfillInput)
    .mutation(({ ctx, input }) =>
      ctx.services.schedules.backfill(ctx.principal.productId, input.id, input.from, input.to),
    ),
});
