import { ProfileGetInput, ProfileListInput, ProfilePublishInput } from "@gigafactory/schema";
import { router, serviceProcedure } from "../../trpc/trpc.js";

export const profilesRouter = router({
  publish: serviceProcedure
    .input(ProfilePublishInput)
    .mutation(({ ctx, input }) => ctx.services.profiles.publish(ctx.principal.productId, input.name, input.snapshot)),
  get: serviceProcedure
    .input(ProfileGetInput)
    .query(({ ctx, input }) => ctx.services.profiles.get(ctx.principal.productId, input.name, input.version)),
  list: serviceProcedure
    .input(ProfileListInput)
    .query(({ ctx, input }) => ctx.services.profiles.list(ctx.principal.productId, input.name)),
});
