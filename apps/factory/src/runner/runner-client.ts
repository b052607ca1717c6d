import type { GigafactoryClient } from "@gigafactory/sdk/client";

type FactoryProcedures = GigafactoryClient["trpc"]["factory"];
type RunnerProcedure = "renew" | "appendEvents" | "advance" | "checkpoint" | "complete" | "release";
/** A procedure as a plain function of its input, so that a test can stand in for the coordinator. */
type Mutation<K extends RunnerProcedure> = {
  mutate(
    input: Parameters<FactoryProcedures[K]["mutate"]>[0],
  ): Promise<Awaited<ReturnType<FactoryProcedures[K]["mutate"]>>>;
};
/** The part of the SDK client a job runner uses. */
export type RunnerClient = Pick<GigafactoryClient, "url" | "authHeader"> & {
  trpc: { factory: { [K in RunnerProcedure]: Mutation<K> } };
};
