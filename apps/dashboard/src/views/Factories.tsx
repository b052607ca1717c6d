import type { FactorySummary } from "@gigafactory/schema";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Empty, ErrorBox, Loading } from "../components.js";
import { age } from "../format.js";
import { useNow, useSession } from "../session.js";

/** The factory's state, or `stale` once its heartbeat is older than the coordinator says. */
export function FactoryState(props: { factory: FactorySummary; now: number; staleAfterMs: number }) {
  const stale =
    props.factory.state !== "gone" && props.now - props.factory.lastHeartbeatAt.getTime() > props.staleAfterMs;
  const state = stale ? "stale" : props.factory.state;
  return (
    <span className={`badge factory-${state}`} data-testid={`factory-state-${props.factory.factoryId}`}>
      {state}
    </span>
  );
}

export function Factories() {
  const { trpc, role } = useSession();
  const now = useNow();
  const queryClient = useQueryClient();
  const factories = useQuery({
    queryKey: ["factories"],
    queryFn: () => trpc.dashboard.factories.query(),
    // heartbeats are not events: the list is read again every few seconds
    refetchInterval: 3_000,
  });
  const drain = useMutation({
    mutationFn: (factoryId: string) => trpc.admin.drain.mutate({ factoryId }),
    onSettled: () => queryClient.invalidateQueries({ queryKey: ["factories"] }),
  });
  if (factories.isPending) return <Loading />;
  if (factories.isError) return <ErrorBox error={factories.error} retrying />;
  const { staleAfterMs } = factories.data;
  return (
    <section>
      <h2>Factories</h2>
      {drain.isError ? <ErrorBox error={drain.error} /> : null}
      {factories.data.factories.length === 0 ? (
        <Empty>
          No factories: run <code>gf up</code>.
        </Empty>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Factory</th>
              <th>State</th>
              <th>Host</th>
              <th>Version</th>
              <th>Engines</th>
              <th>Capabilities</th>
              <th>Seats</th>
              <th>Heartbeat</th>
              {role === "admin" ? <th /> : null}
            </tr>
          </thead>
          <tbody>
            {factories.data.factories.map((factory) => (
              <tr key={factory.factoryId} data-testid={`factory-${factory.factoryId}`}>
                <td>{factory.factoryId}</td>
                <td>
                  <FactoryState factory={factory} now={now} staleAfterMs={staleAfterMs} />
                </td>
                <td>{factory.descriptor.host}</td>
                <td>{factory.descriptor.version}</td>
                <td>{factory.engines.join(", ")}</td>
                <td>{factory.capabilities.join(", ") || "—"}</td>
                <td>
                  {factory.running}/{factory.seatLimit}
                </td>
                <td>{age(now - factory.lastHeartbeatAt.getTime())} ago</td>
                {role === "admin" ? (
                  <td>
                    {factory.state === "active" ? (
                      <button type="button" onClick={() => drain.mutate(factory.factoryId)} disabled={drain.isPending}>
                        Drain
                      </button>
                    ) : null}
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
