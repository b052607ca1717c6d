import type { Stage } from "@gigafactory/schema";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Empty, ErrorBox, Link, Loading, StageBadge } from "../components.js";
import { age } from "../format.js";
import { navigate } from "../router.js";
import { useNow, useSession } from "../session.js";

/** How often the list is read again besides the pushed changes (a missed feed event heals by then). */
const SAFETY_REFETCH_MS = 30_000;

const STAGES: Stage[] = ["inbox", "building", "review", "testing", "shipped", "failed", "cancelled"];
const FILTERS = ["q", "stage", "engine", "profile", "trackerItemId", "parentId"] as const;
const PAGE = 50;
const LABELS = { q: "Search title or key", engine: "Engine", profile: "Profile", trackerItemId: "Tracker item" };

/** Jobs, newest first, a page at a time (the coordinator's cursor); filters live in the URL. */
export function Jobs({ query }: { query: URLSearchParams }) {
  const { trpc } = useSession();
  const now = useNow(5_000);
  const filters = Object.fromEntries(FILTERS.map((name) => [name, query.get(name) ?? ""])) as Record<
    (typeof FILTERS)[number],
    string
  >;
  // the cursors of the pages before this one, so "previous" needs no backwards cursor
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors.at(-1);
  const input = {
    limit: PAGE,
    ...(filters.stage && STAGES.includes(filters.stage as Stage) ? { stage: filters.stage as Stage } : {}),
    ...(filters.engine ? { engine: filters.engine } : {}),
    ...(filters.profile ? { profile: filters.profile } : {}),
    ...(filters.trackerItemId ? { trackerItemId: filters.trackerItemId } : {}),
    ...(filters.parentId ? { parentId: filters.parentId } : {}),
    ...(cursor ? { cursor } : {}),
  };
  // a text search (title, idempotency key or id) is its own procedure; the other filters do not apply to it
  const search = filters.q ? { text: filters.q, limit: PAGE, ...(cursor ? { cursor } : {}) } : undefined;
  const jobs = useQuery({
    queryKey: ["jobs", search ?? input],
    queryFn: () => (search ? trpc.dashboard.searchJobs.query(search) : trpc.jobs.list.query(input)),
    placeholderData: keepPreviousData,
    // pushed changes keep it current; coming back to the list, and a slow safety net for a feed
    // event missed while the socket reconnected, read it again
    refetchOnMount: "always",
    refetchInterval: SAFETY_REFETCH_MS,
  });
  const setFilter = (name: string, value: string) => {
    const next = new URLSearchParams(query);
    if (value) next.set(name, value);
    else next.delete(name);
    setCursors([]);
    const search = next.toString();
    navigate(`/jobs${search ? `?${search}` : ""}`);
  };
  return (
    <section>
      <h2>Jobs</h2>
      <form className="filters" onSubmit={(event) => event.preventDefault()}>
        <label>
          Stage
          <select value={filters.stage} onChange={(event) => setFilter("stage", event.target.value)}>
            <option value="">any</option>
            {STAGES.map((stage) => (
              <option key={stage} value={stage}>
                {stage}
              </option>
            ))}
          </select>
        </label>
        {(["q", "engine", "profile", "trackerItemId"] as const).map((name) => (
          <label key={name}>
            {LABELS[name]}
            <input
              key={`${name}=${filters[name]}`}
              type={name === "q" ? "search" : "text"}
              defaultValue={filters[name]}
              onKeyDown={(event) => {
                if (event.key === "Enter") setFilter(name, event.currentTarget.value.trim());
              }}
              onBlur={(event) => {
                if (event.currentTarget.value.trim() !== filters[name])
                  setFilter(name, event.currentTarget.value.trim());
              }}
            />
          </label>
        ))}
      </form>
      {jobs.isPending ? (
        <Loading />
      ) : jobs.isError ? (
        <ErrorBox error={jobs.error} retrying />
      ) : jobs.data.items.length === 0 ? (
        <Empty>No jobs{query.size ? " match these filters" : ": submit one with `gf submit job.md`"}.</Empty>
      ) : (
        <>
          <table data-testid="jobs-table">
            <thead>
              <tr>
                <th>Job</th>
                <th>Stage</th>
                <th>Engine</th>
                <th>Attempt</th>
                <th>Priority</th>
                <th>Created</th>
              </tr>
            </thead>
            <tbody>
              {jobs.data.items.map((job) => (
                <tr key={job._id} data-testid={`job-row-${job._id}`} data-stage={job.stage}>
                  <td>
                    <Link to={`/jobs/${job._id}`}>{job.title || job.idempotencyKey}</Link>
                    <div className="muted small">{job._id}</div>
                  </td>
                  <td>
                    <StageBadge stage={job.stage} />
                  </td>
                  <td>{job.engine}</td>
                  <td>
                    {job.attempt}/{job.maxAttempts}
                  </td>
                  <td>{job.priority}</td>
                  <td title={job.createdAt.toLocaleString()}>{age(now - job.createdAt.getTime())} ago</td>
                </tr>
              ))}
            </tbody>
          </table>
          <div className="pager">
            <button type="button" disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>
              ← Newer
            </button>
            <button
              type="button"
              disabled={!jobs.data.nextCursor}
              onClick={() => jobs.data.nextCursor && setCursors([...cursors, jobs.data.nextCursor])}
            >
              Older →
            </button>
          </div>
        </>
      )}
    </section>
  );
}
