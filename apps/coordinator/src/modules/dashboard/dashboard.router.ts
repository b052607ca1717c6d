import { DashboardFactories, DashboardOverview, JobSearchInput, WhoAmI } from "@gigafactory/schema";
import { z } from "zod";
import { authedProcedure, router, serviceProcedure } from "../../trpc/trpc.js";

const NoInput = z.void();

/** Read models for the web dashboard (apps/dashboard); it has no API of its own. */
export const dashboardRouter = router({
  whoami: authedProcedure
    .input(NoInput)
    .output(WhoAmI)
    .query(({ ctx }) => ({ role: ctx.principal.role, productId: ctx.principal.productId })),
  overview: serviceProcedure
    .input(NoInput)
    .output(DashboardOverview)
    .query(({ ctx }) => ctx.services.dashboard.overview(ctx.principal.productId)),
  factories: serviceProcedure
    .input(NoInput)
    .output(DashboardFactories)
    .query(({ ctx }) => ctx.services.dashboard.factories(ctx.principal.productId)),
  searchJobs: serviceProcedure
    .input(JobSearchInput)
    .query(({ ctx, input }) => ctx.services.dashboard.search(ctx.principal.productId, input)),
});
