import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Empty, ErrorBox, Loading } from "../components.js";
import { age, num, usd } from "../format.js";
import { useSession } from "../session.js";

const RANGES = [
  { label: "1 hour", ms: 3_600_000 },
  { label: "24 hours", ms: 86_400_000 },
  { label: "7 days", ms: 7 * 86_400_000 },
  { label: "30 days", ms: 30 * 86_400_000 },
] as const;

/** One horizontal bar per row, scaled to the largest: charts without a chart library. */
function Bars(props: { rows: { label: string; value: number; text: string }[]; testId?: string }) {
  const max = Math.max(...props.rows.map((row) => row.value), 0);
  if (!props.rows.length) return <Empty>Nothing in this range.</Empty>;
  return (
    <div className="bars" data-testid={props.testId}>
      {props.rows.map((row) => (
        <div key={row.label} className="bar-row">
          <span className="bar-label">{row.label}</span>
          <span className="bar-track">
            <span className="bar" style={{ width: `${max ? (row.value / max) * 100 : 0}%` }} />
          </span>
          <span className="bar-value">{row.text}</span>
        </div>
      ))}
    </div>
  );
}

/** Cost, tokens, results and durations over a chosen range (`admin.insights`, admin tokens). */
export function Insights() {
  const { trpc } = useSession();
  const [rangeMs, setRangeMs] = useState<number>(RANGES[1].ms);
  const insights = useQuery({
    queryKey: ["insights", rangeMs],
    queryFn: () => trpc.admin.insights.query({ since: new Date(Date.now() - rangeMs) }),
  });
  return (
    <section>
      <h2>Insights</h2>
      <label className="filters">
        Range
        <select value={rangeMs} onChange={(event) => setRangeMs(Number(event.target.value))}>
          {RANGES.map((range) => (
            <option key={range.ms} value={range.ms}>
              last {range.label}
            </option>
          ))}
        </select>
      </label>
      {insights.isPending ? (
        <Loading />
      ) : insights.isError ? (
        <ErrorBox error={insights.error} retrying />
      ) : (
        <>
          <div className="cards">
            <div className="card">
              <span className="card-value">
                {insights.data.successRate === null ? "—" : `${Math.round(insights.data.successRate * 100)}%`}
              </span>
              success rate
            </div>
            <div className="card">
              <span className="card-value">
                {insights.data.durationMs.p50 === null ? "—" : age(insights.data.durationMs.p50)}
              </span>
              duration p50
            </div>
            <div className="card">
              <span className="card-value">
                {insights.data.durationMs.p95 === null ? "—" : age(insights.data.durationMs.p95)}
              </span>
              duration p95
            </div>
          </div>
          <h3>Runs by result</h3>
          <Bars
            rows={Object.entries(insights.data.runsByResult).map(([result, count]) => ({
              label: result,
              value: count,
              text: num(count),
            }))}
          />
          <h3>Cost by engine</h3>
          <Bars
            rows={insights.data.byEngine.map((row) => ({
              label: row.engine,
              value: row.costUsd,
              text: usd(row.costUsd),
            }))}
          />
          <h3>Tokens by engine (in + out)</h3>
          <Bars
            rows={insights.data.byEngine.map((row) => ({
              label: row.engine,
              value: row.tokensIn + row.tokensOut,
              text: `${num(row.tokensIn)} in, ${num(row.tokensOut)} out, ${num(row.tokensCached)} cached`,
            }))}
          />
          <h3>Cost by profile</h3>
          <Bars
            rows={insights.data.byProfile.map((row) => ({
              label: row.profile,
              value: row.costUsd,
              text: `${usd(row.costUsd)} · ${num(row.runs)} runs`,
            }))}
          />
        </>
      )}
    </section>
  );
}

/** Throughput and success over the last hour, tokens and cost since midnight: admins only. */
export function RecentFigures() {
  const { trpc } = useSession();
  const hour = useQuery({
    queryKey: ["overview", "insights-hour"],
    queryFn: () => trpc.admin.insights.query({ since: new Date(Date.now() - 3_600_000) }),
  });
  const today = useQuery({
    queryKey: ["overview", "insights-today"],
    queryFn: () => {
      const midnight = new Date();
      midnight.setHours(0, 0, 0, 0);
      return trpc.admin.insights.query({ since: midnight });
    },
  });
  if (hour.isError || today.isError) return <ErrorBox error={hour.error ?? today.error} retrying />;
  if (!hour.data || !today.data) return null;
  const finished = Object.entries(hour.data.runsByResult)
    .filter(([result]) => result !== "released")
    .reduce((sum, [, count]) => sum + count, 0);
  const tokens = today.data.byEngine.reduce((sum, row) => sum + row.tokensIn + row.tokensOut, 0);
  const cost = today.data.byEngine.reduce((sum, row) => sum + row.costUsd, 0);
  return (
    <div className="cards">
      <div className="card">
        <span className="card-value">{num(finished)}</span>
        runs finished, last hour
      </div>
      <div className="card">
        <span className="card-value">
          {hour.data.successRate === null ? "—" : `${Math.round(hour.data.successRate * 100)}%`}
        </span>
        success, last hour
      </div>
      <div className="card">
        <span className="card-value">{num(tokens)}</span>
        tokens today
      </div>
      <div className="card">
        <span className="card-value">{usd(cost)}</span>
        cost today
      </div>
    </div>
  );
}
