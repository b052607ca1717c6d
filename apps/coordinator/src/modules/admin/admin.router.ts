import {
  DrainInput,
  FactoryRevokeInput,
  InsightsInput,
  InsightsOutput,
  ProductScope,
  RequeueInput,
  SetPolicyInput,
  ShowPolicyInput,
  StatusInput,
  StatusOutput,
  TokenCreateInput,
  TokenCreateOutput,
  TokenRevokeInput,
} from "@gigafactory/schema";
import { adminProcedure, productFor, router } from "../../trpc/trpc.js";

export const adminRouter = router({
  /** One screen of fleet health (`gf status`), fleet-wide. */
  status: adminProcedure
    .input(StatusInput)
    .output(StatusOutput)
    .query(({ ctx }) => ctx.services.status.status()),
  factories: adminProcedure
    .input(ProductScope)
    .query(({ ctx, input }) => ctx.services.factories.list(productFor(ctx.principal, input.productId))),
  drain: adminProcedure
    .input(DrainInput.extend(ProductScope.shape).strict())
    .mutation(({ ctx, input }) =>
      ctx.services.factories.drain(productFor(ctx.principal, input.productId), input.factoryId),
    ),
  /** The factory is `gone` and its token can no longer act as it; a new token may register the id. */
  revokeFactory: adminProcedure
    .input(FactoryRevokeInput.extend(ProductScope.shape).strict())
    .mutation(({ ctx, input }) =>
      ctx.services.factories.revoke(productFor(ctx.principal, input.productId), input.factoryId),
    ),
  requeue: adminProcedure
    .input(RequeueInput.extend(ProductScope.shape).strict())
    .mutation(({ ctx, input }) => ctx.services.jobs.retry(productFor(ctx.principal, input.productId), input.jobId)),
  insights: adminProcedure
    .input(InsightsInput)
    .output(InsightsOutput)
    .query(({ ctx, input }) => ctx.services.insights.compute(productFor(ctx.principal, input.productId), input.since)),
  /** The product's guard and quality rails (modules/policy); replaces the one before. */
  setPolicy: adminProcedure
    .input(SetPolicyInput)
    .mutation(({ ctx, input }) => ctx.services.policy.set(productFor(ctx.principal, input.productId), input.policy)),
  policy: adminProcedure
    .input(ShowPolicyInput)
    .query(({ ctx, input }) => ctx.services.policy.show(productFor(ctx.principal, input.productId))),
  tokens: adminProcedure
    .input(ProductScope)
    .query(({ ctx, input }) => ctx.services.tokens.list(productFor(ctx.principal, input.productId))),
  revokeToken: adminProcedure
    .input(TokenRevokeInput)
    .mutation(({ ctx, input }) =>
      ctx.services.tokens.revoke(productFor(ctx.principal, input.productId), input.tokenId),
    ),
  createToken: adminProcedure
    .input(TokenCreateInput)
    .output(TokenCreateOutput)
    .mutation(({ ctx, input }) =>
      ctx.services.tokens.create(input.role, productFor(ctx.principal, input.productId), input.name),
    ),
});
