import { FactoryId, type Role } from "@gigafactory/schema";
import { TRPCError, initTRPC } from "@trpc/server";
import { z } from "zod";
import { isDevelopment } from "../env.js";
import { DomainError } from "../errors.js";
import { observeCall } from "../modules/metrics/observe-call.js";
import type { Context } from "./context.js";
import { domainDetails, issuesOf, toTRPCError } from "./errors.js";
import { transformer } from "./transformer.js";

const t = initTRPC.context<Context>().create({
  transformer,
  // stack traces only in development: callers (unauthenticated ones too) see none otherwise
  isDev: isDevelopment(),
  errorFormatter({ shape, error }) {
    const issues = error.code === "BAD_REQUEST" ? issuesOf(error.cause) : undefined;
    const { stack, ...data } = shape.data;
    return {
      ...shape,
      // name the fields in the message too, for clients that only print the message
      message: issues
        ? issues.map((issue) => `${issue.path || "(input)"}: ${issue.message}`).join("; ")
        : shape.message,
      data: {
        ...data,
        ...(stack !== undefined && isDevelopment() ? { stack } : {}),
        ...(issues ? { issues } : {}),
        ...domainDetails(error.cause),
      },
    };
  },
});

export const router = t.router;

/** Maps domain errors thrown below it to tRPC codes; every procedure goes through it. */
const mapErrors = t.middleware(async ({ next, ctx, path, type, signal }) => {
  const release = type === "subscription" ? holdSubscription(ctx, signal) : undefined;
  const result = await next();
  if (!result.ok) {
    release?.();
    const cause = result.error.cause;
    if (cause instanceof DomainError) throw toTRPCError(cause);
    if (result.error.code === "INTERNAL_SERVER_ERROR")
      ctx.logger.error({ err: result.error, path, type }, "procedure failed");
  }
  // a subscription's generator runs after this middleware has returned: map what it throws too
  if (result.ok && type === "subscription" && isAsyncIterable(result.data))
    return { ...result, data: mapIterationErrors(result.data, release) };
  release?.();
  return result;
});

/** Counts a subscription against its socket's cap (`limits.wsMaxSubscriptions`); returns its release. */
function holdSubscription(ctx: Context, signal: AbortSignal | undefined): (() => void) | undefined {
  const connection = ctx.connection;
  if (!connection) return undefined;
  const max = ctx.options.limits.wsMaxSubscriptions;
  if (connection.subscriptions >= max)
    throw new TRPCError({
      code: "TOO_MANY_REQUESTS",
      message: `at most ${max} subscriptions may be open on one connection`,
    });
  connection.subscriptions++;
  let released = false;
  const release = () => {
    if (!released) connection.subscriptions--;
    released = true;
  };
  // a stopped subscription frees its place at once, not when its stream next wakes up
  signal?.addEventListener("abort", release, { once: true });
  return release;
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === "object" && value !== null && Symbol.asyncIterator in value;
}

async function* mapIterationErrors(source: AsyncIterable<unknown>, release?: () => void): AsyncGenerator<unknown> {
  try {
    yield* source;
  } catch (error) {
    throw error instanceof DomainError ? toTRPCError(error) : error;
  } finally {
    release?.();
  }
}

/** Counts and times every call (`modules/metrics/observe-call.ts`); outermost, so it sees mapped codes. */
const observe = t.middleware(({ ctx, path, type, next }) => observeCall(ctx.services.metrics, { path, type }, next));

export const publicProcedure = t.procedure.use(observe).use(mapErrors);

export const authedProcedure = publicProcedure.use(({ ctx, next }) => {
  if (!ctx.principal) throw new TRPCError({ code: "UNAUTHORIZED", message: "a valid bearer token is required" });
  // every call with a token, once: each call of a batch, each subscription (`limits.rateLimits`)
  const limited = ctx.services.rateLimiter.take(ctx.principal);
  if (limited) throw new TRPCError({ code: "TOO_MANY_REQUESTS", message: limited.message });
  return next({ ctx: { ...ctx, principal: ctx.principal } });
});

function withRoles(roles: readonly Role[]) {
  return authedProcedure.use(({ ctx, next }) => {
    if (!roles.includes(ctx.principal.role))
      throw new TRPCError({
        code: "FORBIDDEN",
        message: `this procedure needs role ${roles.join(" or ")}; the token has ${ctx.principal.role}`,
      });
    return next();
  });
}

/** People and services: jobs, profiles, artifacts. */
export const serviceProcedure = withRoles(["service", "admin"]);
/** A factory token, before it is bound to a factory id: `factory.register` only. */
export const factoryTokenProcedure = withRoles(["factory"]);
/**
 * A factory acting as the factory its input names: the token must be the one that registered that
 * `factoryId` (FORBIDDEN otherwise, or once an admin revoked it). Its input merges with the
 * procedure's own, which names `factoryId` too.
 */
export const factoryProcedure = factoryTokenProcedure
  .input(z.object({ factoryId: FactoryId }))
  .use(async ({ ctx, input, next }) => {
    await ctx.services.factories.authorize(ctx.principal, input.factoryId);
    return next();
  });
export const adminProcedure = withRoles(["admin"]);

/** The product a call acts on: always the token's, unless an admin names another. */
export function productFor(principal: { role: Role; productId: string }, requested?: string): string {
  if (requested && requested !== principal.productId) {
    if (principal.role !== "admin")
      throw new TRPCError({ code: "FORBIDDEN", message: "only admins may name another product" });
    return requested;
  }
  return principal.productId;
}
