import type { Stage } from "@gigafactory/schema";
import type { ReactNode } from "react";
import { navigate } from "./router.js";

export function Link(props: { to: string; children: ReactNode; className?: string }) {
  return (
    <a
      href={props.to}
      className={props.className}
      onClick={(event) => {
        if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
        event.preventDefault();
        navigate(props.to);
      }}
    >
      {props.children}
    </a>
  );
}

export function StageBadge({ stage }: { stage: Stage }) {
  return <span className={`badge stage-${stage}`}>{stage}</span>;
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="empty">{children}</div>;
}

/** A failed read: what went wrong and that it is being retried, never a blank page. */
export function ErrorBox({ error, retrying }: { error: unknown; retrying?: boolean }) {
  const message = error instanceof Error ? error.message : String(error);
  return (
    <div className="error" role="alert">
      {message}
      {retrying ? " — retrying…" : ""}
    </div>
  );
}

export function Loading() {
  return <div className="muted">Loading…</div>;
}
