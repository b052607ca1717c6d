import { JobRef } from "@gigafactory/schema";
import { z } from "zod";
import { router, serviceProcedure } from "../../trpc/trpc.js";

/** Metadata only; bytes go up and down over `/artifacts` (see artifacts.http.ts). */
export const artifactsRouter = router({
  list: serviceProcedure
    .input(JobRef)
    .query(({ ctx, input }) => ctx.services.artifacts.list(ctx.principal.productId, input.jobId)),
  get: serviceProcedure
    .input(z.object({ artifactId: z.string().min(1).max(128) }).strict())
    .query(({ ctx, input }) => ctx.services.artifacts.get(ctx.principal.productId, input.artifactId)),
});
