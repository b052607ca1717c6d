import { ProfileGetInput, ProfileListInput, ProfilePublishInput } from "@gigafactory/schema";
import { NotFoundError } from "../../errors.js";
import { router, serviceProcedure } from "../../trpc/trpc.js";

export const profilesRouter = router({
  publish: serviceProcedure
    .input(ProfilePublishInput)
    .mutation(({ ctx, input }) => ctx.services.profiles.publish(ctx.principal.productId, input.name, input.snapshot)),
  get: serviceProcedure.input(ProfileGetInput).query(async ({ ctx, input }) => {
    const profile = await ctx.services.profiles.find(ctx.principal.productId, input.name, input.version);
    if (!profile) throw new NotFoundError("profile", input.version ? `${input.name}@${input.version}` : input.name);
    return profile;
  }),
  list: serviceProcedure
    .input(ProfileListInput)
    .query(({ ctx, input }) => ctx.services.profiles.list(ctx.principal.productId, input.name)),
});
