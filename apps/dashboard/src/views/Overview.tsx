import { useQuery } from "@tanstack/react-query";
import { Empty, ErrorBox, Link, Loading, StageBadge } from "../components.js";
import { age } from "../format.js";
import { useNow, useSession } from "../session.js";
import { FactoryState } from "./Factories.js";
import { RecentFigures } from "./Insights.js";

const STAGES = ["inbox", "building", "review", "testing", "shipped", "failed", "cancelled"] as const;

export function Overview() {
  const { trpc, role } = useSession();
  const now = useNow();
  const overview = useQuery({
    queryKey: ["overview"],
    queryFn: () => trpc.dashboard.overview.query(),
    refetchOnMount: "always",
    // heartbeats and ages are not events: read again now and then besides the pushed changes
    refetchInterval: 5_000,
  });
  if (overview.isPending) return <Loading />;
  if (overview.isError) return <ErrorBox error={overview.error} retrying />;
  const data = overview.data;
  // a heartbeat reports load every few seconds; the jobs it holds are known now
  const seatsUsed = (factoryId: string, reported: number) =>
    Math.max(reported, data.running.filter((job) => job.factoryId === factoryId).length);
  return (
    <section>
      <h2>Overview</h2>
      <div className="cards" data-testid="stage-counts">
        {STAGES.map((stage) => (
          <Link key={stage} to={`/jobs?stage=${stage}`} className="card">
            <span className="card-value" data-testid={`count-${stage}`}>
              {data.byStage[stage] ?? 0}
            </span>
            <StageBadge stage={stage} />
          </Link>
        ))}
      </div>
      <div className="cards">
        <div className="card">
          <span className="card-value" data-testid="queue-depth">
            {data.queue.depth}
          </span>
          queued
        </div>
        <div className="card">
          <span className="card-value">
            {data.queue.oldestQueuedAt ? age(now - data.queue.oldestQueuedAt.getTime()) : "—"}
          </span>
          oldest waiting
        </div>
      </div>
      {role === "admin" ? <RecentFigures /> : null}
      <h3>Running now</h3>
      {data.running.length === 0 ? (
        <Empty>Nothing is running.</Empty>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Job</th>
              <th>Stage</th>
              <th>Engine</th>
              <th>Factory</th>
              <th>Elapsed</th>
            </tr>
          </thead>
          <tbody>
            {data.running.map((job) => (
              <tr key={job.jobId}>
                <td>
                  <Link to={`/jobs/${job.jobId}`}>{job.title || job.jobId}</Link>
                </td>
                <td>
                  <StageBadge stage={job.stage} />
                </td>
                <td>{job.engine}</td>
                <td>{job.factoryId ?? "—"}</td>
                <td>{age(now - job.since.getTime())}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h3>Factories</h3>
      {data.factories.length === 0 ? (
        <Empty>
          No factories: run <code>gf up</code>.
        </Empty>
      ) : (
        <ul className="factory-list">
          {data.factories.map((factory) => (
            <li key={factory.factoryId}>
              <strong>{factory.factoryId}</strong>{" "}
              <FactoryState factory={factory} now={now} staleAfterMs={data.staleAfterMs} /> seats{" "}
              {seatsUsed(factory.factoryId, factory.running)}/{factory.seatLimit} used,{" "}
              {Math.max(0, factory.seatLimit - seatsUsed(factory.factoryId, factory.running))} free
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
