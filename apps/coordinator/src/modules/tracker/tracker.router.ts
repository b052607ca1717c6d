import { TrackerEchoInput, TrackerEchoOutput, TrackerImportInput } from "@gigafactory/schema";
import { router, serviceProcedure } from "../../trpc/trpc.js";

export const trackerRouter = router({
  importItem: serviceProcedure
    .input(TrackerImportInput)
    .mutation(({ ctx, input }) => ctx.services.tracker.importItem(ctx.principal.productId, input.ref)),
  echo: serviceProcedure
    .input(TrackerEchoInput)
    .output(TrackerEchoOutput)
    .mutation(({ ctx, input }) => ctx.services.tracker.echo(ctx.principal.productId, input.jobId)),
});
