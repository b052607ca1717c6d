import type { Artifact, Job, Run } from "@gigafactory/schema";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { Empty, ErrorBox, Link, Loading, StageBadge } from "../components.js";
import { age, eventText, num, time, usd } from "../format.js";
import { useSession } from "../session.js";
import { type LogLine, LogView } from "./LogView.js";

const LIFECYCLE = new Set([
  "created",
  "claimed",
  "stage",
  "requeued",
  "lost",
  "released",
  "cancel_requested",
  "cancelled",
  "retried",
  "approval_requested",
  "approved",
  "rejected",
  "completed",
  "failed",
  "dep_failed",
]);

/**
 * The job's events as they are written (`jobs.watch`): tRPC resends the last seq seen when the
 * socket comes back, and lines at or below the last seq are dropped, so a reconnect leaves
 * neither a gap nor a duplicate.
 */
function useJobLog(jobId: string): { lines: LogLine[]; live: boolean } {
  const { trpc } = useSession();
  const queryClient = useQueryClient();
  const [state, setState] = useState<{ lines: LogLine[]; live: boolean }>({ lines: [], live: true });
  useEffect(() => {
    let lastSeq = 0;
    let buffer: LogLine[] = [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    setState({ lines: [], live: true });
    const flush = () => {
      timer = undefined;
      const added = buffer;
      buffer = [];
      setState((previous) => ({ ...previous, lines: previous.lines.concat(added) }));
    };
    const subscription = trpc.jobs.watch.subscribe(
      { jobId, lastEventId: null },
      {
        onData: ({ data: event }) => {
          if (event.seq <= lastSeq) return;
          lastSeq = event.seq;
          const lifecycle = LIFECYCLE.has(event.type);
          const text = lifecycle
            ? `— ${event.type} ${eventText(event.data)}`
            : event.type === "artifact"
              ? `artifact ${String(event.data.name)} (${String(event.data.size)} bytes)`
              : eventText(event.data);
          buffer.push({
            seq: event.seq,
            type: lifecycle ? "lifecycle" : event.type,
            text,
            at: event.at,
            event: event.type,
          });
          // many lines in one tick render once
          timer ??= setTimeout(flush, 50);
          if (lifecycle) void queryClient.invalidateQueries({ queryKey: ["job", jobId] });
        },
        onComplete: () => {
          setState((previous) => ({ ...previous, live: false }));
          void queryClient.invalidateQueries({ queryKey: ["job", jobId] });
        },
      },
    );
    return () => {
      subscription.unsubscribe();
      clearTimeout(timer);
    };
  }, [jobId, trpc, queryClient]);
  return state;
}

export function JobPage({ jobId }: { jobId: string }) {
  const { trpc } = useSession();
  const job = useQuery({ queryKey: ["job", jobId, "job"], queryFn: () => trpc.jobs.get.query({ jobId }) });
  const runs = useQuery({ queryKey: ["job", jobId, "runs"], queryFn: () => trpc.jobs.runs.query({ jobId }) });
  const artifacts = useQuery({
    queryKey: ["job", jobId, "artifacts"],
    queryFn: () => trpc.artifacts.list.query({ jobId }),
  });
  const log = useJobLog(jobId);
  if (job.isPending) return <Loading />;
  if (job.isError) return <ErrorBox error={job.error} retrying={job.failureCount < 3} />;
  const data = job.data;
  return (
    <section>
      <h2>
        {data.title || data.idempotencyKey}{" "}
        <span data-testid="job-stage">
          <StageBadge stage={data.stage} />
        </span>
      </h2>
      <JobHeader job={data} />
      <Actions job={data} />
      <h3>Timeline</h3>
      <Timeline lines={log.lines} />
      <h3>Log {log.live ? <span className="badge live">live</span> : <span className="muted small">ended</span>}</h3>
      {log.lines.length ? <LogView lines={log.lines} /> : <Empty>No events yet.</Empty>}
      <h3>Runs</h3>
      {runs.isError ? <ErrorBox error={runs.error} /> : <Runs runs={runs.data ?? []} />}
      <h3>Artifacts</h3>
      {artifacts.isError ? <ErrorBox error={artifacts.error} /> : <Artifacts artifacts={artifacts.data ?? []} />}
      {data.checkpoint ? (
        <>
          <h3>Checkpoint</h3>
          <pre className="small">{JSON.stringify(data.checkpoint, null, 2)}</pre>
        </>
      ) : null}
    </section>
  );
}

function JobHeader({ job }: { job: Job }) {
  return (
    <dl className="facts">
      <dt>Id</dt>
      <dd>{job._id}</dd>
      <dt>Attempt</dt>
      <dd>
        {job.attempt}/{job.maxAttempts}
      </dd>
      <dt>Priority</dt>
      <dd>{job.priority}</dd>
      <dt>Engine</dt>
      <dd>{job.engine}</dd>
      {job.profile ? (
        <>
          <dt>Profile</dt>
          <dd>
            {job.profile.name} v{job.profile.version}
          </dd>
        </>
      ) : null}
      {job.lock ? (
        <>
          <dt>Lock</dt>
          <dd>{job.lock}</dd>
        </>
      ) : null}
      {job.lease.holder ? (
        <>
          <dt>Factory</dt>
          <dd>{job.lease.holder}</dd>
        </>
      ) : null}
      {job.deps.length ? (
        <>
          <dt>Depends on</dt>
          <dd>
            {job.deps.map((dep) => (
              <Link key={dep} to={`/jobs/${dep}`} className="dep">
                {dep}
              </Link>
            ))}
          </dd>
        </>
      ) : null}
      {job.parentId ? (
        <>
          <dt>Parent</dt>
          <dd>
            <Link to={`/jobs/${job.parentId}`}>{job.parentId}</Link>
          </dd>
        </>
      ) : null}
      {job.kind === "composite" ? (
        <>
          <dt>Children</dt>
          <dd>
            <Link to={`/jobs?parentId=${job._id}`}>{job.childCount ?? 0}</Link>
          </dd>
        </>
      ) : null}
      <dt>Created</dt>
      <dd>{time(job.createdAt)}</dd>
      {job.endedAt ? (
        <>
          <dt>Ended</dt>
          <dd>{time(job.endedAt)}</dd>
        </>
      ) : null}
      {job.reason ? (
        <>
          <dt>Reason</dt>
          <dd>{job.reason}</dd>
        </>
      ) : null}
    </dl>
  );
}

/** Cancel, retry, approve and reject, each offered only when the job's stage allows it. */
function Actions({ job }: { job: Job }) {
  const { trpc } = useSession();
  const queryClient = useQueryClient();
  const [note, setNote] = useState("");
  const done = () => queryClient.invalidateQueries({ queryKey: ["job", job._id] });
  const action = useMutation({
    mutationFn: (kind: "cancel" | "retry" | "approve" | "reject") => {
      if (kind === "cancel") return trpc.jobs.cancel.mutate({ jobId: job._id });
      if (kind === "retry") return trpc.jobs.retry.mutate({ jobId: job._id });
      const input = { jobId: job._id, ...(note.trim() ? { note: note.trim() } : {}) };
      return kind === "approve" ? trpc.jobs.approve.mutate(input) : trpc.jobs.reject.mutate(input);
    },
    onSettled: done,
  });
  const terminal = ["shipped", "failed", "cancelled"].includes(job.stage);
  const retryable = job.stage === "failed" || job.stage === "cancelled";
  return (
    <div className="actions">
      {!terminal && !job.cancelRequested ? (
        <button type="button" onClick={() => action.mutate("cancel")} disabled={action.isPending}>
          Cancel
        </button>
      ) : null}
      {retryable ? (
        <button type="button" onClick={() => action.mutate("retry")} disabled={action.isPending}>
          Retry
        </button>
      ) : null}
      {job.awaitingApproval ? (
        <>
          <input placeholder="note (optional)" value={note} onChange={(event) => setNote(event.target.value)} />
          <button type="button" onClick={() => action.mutate("approve")} disabled={action.isPending}>
            Approve
          </button>
          <button type="button" onClick={() => action.mutate("reject")} disabled={action.isPending}>
            Reject
          </button>
        </>
      ) : null}
      {job.cancelRequested && !terminal ? <span className="muted">cancel requested…</span> : null}
      {action.isError ? <ErrorBox error={action.error} /> : null}
    </div>
  );
}

function Runs({ runs }: { runs: Run[] }) {
  if (!runs.length) return <Empty>No runs yet.</Empty>;
  return (
    <table>
      <thead>
        <tr>
          <th>#</th>
          <th>Factory</th>
          <th>Result</th>
          <th>Duration</th>
          <th>Model</th>
          <th>Tokens in/out/cached</th>
          <th>Cost</th>
          <th>Turns</th>
          <th>Tool calls</th>
          <th>Files/lines</th>
          <th>Verify</th>
        </tr>
      </thead>
      <tbody>
        {runs.map((run) => {
          const i = run.insights;
          const duration = run.endedAt ? run.endedAt.getTime() - run.startedAt.getTime() : undefined;
          return (
            <tr key={run._id}>
              <td>{run.attempt}</td>
              <td>{run.factoryId}</td>
              <td>{run.result ?? "running"}</td>
              <td>{duration === undefined ? "—" : age(duration)}</td>
              <td>{i.model ?? "—"}</td>
              <td>
                {num(i.tokensIn)}/{num(i.tokensOut)}/{num(i.tokensCached)}
              </td>
              <td>
                {usd(i.costUsd)}
                {i.estimated ? " (est.)" : ""}
              </td>
              <td>{num(i.turns)}</td>
              <td>{num(i.toolCalls)}</td>
              <td>
                {num(i.filesChanged)} / +{num(i.linesAdded)} −{num(i.linesDeleted)}
              </td>
              <td>
                {run.verifyResult
                  ? `${run.verifyResult.passed ? "passed" : "failed"} (${run.verifyResult.steps.length})`
                  : "—"}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/** Bytes come from `/artifacts/<id>/content` with the token in the header, never in a URL. */
function Artifacts({ artifacts }: { artifacts: Artifact[] }) {
  const { token } = useSession();
  const [diff, setDiff] = useState<{ id: string; text: string } | null>(null);
  if (!artifacts.length) return <Empty>No artifacts.</Empty>;
  const fetchBytes = async (artifact: Artifact) => {
    const response = await fetch(`/artifacts/${encodeURIComponent(artifact._id)}/content`, {
      headers: { authorization: `Bearer ${token}` },
    });
    if (!response.ok) throw new Error(`download failed: ${response.status}`);
    return response.blob();
  };
  const download = async (artifact: Artifact) => {
    const url = URL.createObjectURL(await fetchBytes(artifact));
    const anchor = document.createElement("a");
    anchor.href = url;
    anchor.download = artifact.name;
    anchor.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  };
  const isDiff = (artifact: Artifact) =>
    /diff|patch/.test(artifact.contentType) || /\.(diff|patch)$/.test(artifact.name);
  return (
    <>
      <ul>
        {artifacts.map((artifact) => (
          <li key={artifact._id}>
            {artifact.name} <span className="muted small">({num(artifact.size)} bytes)</span>{" "}
            <button type="button" onClick={() => void download(artifact)}>
              Download
            </button>
            {isDiff(artifact) ? (
              <button
                type="button"
                onClick={() =>
                  void fetchBytes(artifact)
                    .then((blob) => blob.text())
                    .then((text) => setDiff({ id: artifact._id, text }))
                }
              >
                Show diff
              </button>
            ) : null}
          </li>
        ))}
      </ul>
      {diff ? (
        <pre className="diff">
          {diff.text.split("\n").map((line, index) => (
            <div
              // biome-ignore lint/suspicious/noArrayIndexKey: lines of a fixed text
              key={index}
              className={
                line.startsWith("+") ? "add" : line.startsWith("-") ? "del" : line.startsWith("@@") ? "hunk" : ""
              }
            >
              {line || " "}
            </div>
          ))}
        </pre>
      ) : null}
    </>
  );
}

/**
 * The job's lifecycle from its events: each step with how long the job stayed there, so a run's
 * time in building, review and testing reads at a glance (the last step runs until now).
 */
function Timeline({ lines }: { lines: LogLine[] }) {
  const steps = lines.filter((line) => line.type === "lifecycle");
  if (!steps.length) return <Empty>No lifecycle events yet.</Empty>;
  return (
    <ol className="timeline" data-testid="timeline">
      {steps.map((step, index) => {
        const next = steps[index + 1];
        const label = step.event === "stage" ? `→ ${stageOf(step.text)}` : step.event;
        return (
          <li key={step.seq}>
            <span className="timeline-step">{label}</span>
            <span className="muted small">{step.at.toLocaleTimeString()}</span>
            {next ? <span className="muted small">{age(next.at.getTime() - step.at.getTime())}</span> : null}
          </li>
        );
      })}
    </ol>
  );
}

/** The stage a `stage` event moved to, from its text (`— stage {"stage":"testing"}`). */
function stageOf(text: string): string {
  return /"stage":"([a-z]+)"/.exec(text)?.[1] ?? "stage";
}
