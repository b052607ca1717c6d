import { useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { forgetToken, initialToken, keepToken } from "./auth.js";
import { ErrorBox, Link, Loading } from "./components.js";
import { useRoute } from "./router.js";
import { SessionProvider, isUnauthorized, useClient, useLiveFeed, useSession } from "./session.js";
import { Factories } from "./views/Factories.js";
import { Insights } from "./views/Insights.js";
import { JobPage } from "./views/JobPage.js";
import { Jobs } from "./views/Jobs.js";
import { Overview } from "./views/Overview.js";
import { SignIn } from "./views/SignIn.js";

export function App() {
  const [token, setToken] = useState(initialToken);
  const [error, setError] = useState<string>();
  const queryClient = useQueryClient();
  const signOut = (message?: string) => {
    forgetToken();
    queryClient.clear();
    setError(message);
    setToken(null);
  };
  if (!token)
    return (
      <SignIn
        error={error}
        onToken={(next) => {
          keepToken(next);
          setError(undefined);
          setToken(next);
        }}
      />
    );
  return <SignedIn key={token} token={token} signOut={signOut} />;
}

function SignedIn({ token, signOut }: { token: string; signOut: (message?: string) => void }) {
  const { client, socket, whoami } = useClient(token);
  if (whoami.isError && isUnauthorized(whoami.error)) {
    queueMicrotask(() => signOut("That token was refused: sign in with a valid service or admin token."));
    return <Loading />;
  }
  if (whoami.isPending || whoami.isError)
    return (
      <main className="page">
        {whoami.isError ? (
          <ErrorBox error={`Cannot reach the coordinator (attempt ${whoami.failureCount})`} retrying />
        ) : (
          <Loading />
        )}
      </main>
    );
  if (whoami.data.role === "factory") {
    queueMicrotask(() => signOut("A factory token cannot use the dashboard: use a service or admin token."));
    return <Loading />;
  }
  return (
    <SessionProvider
      value={{ trpc: client.trpc, token, socket, role: whoami.data.role, productId: whoami.data.productId, signOut }}
    >
      <Shell />
    </SessionProvider>
  );
}

function Shell() {
  const session = useSession();
  const route = useRoute();
  useLiveFeed(session.trpc);
  return (
    <>
      <header className="top">
        <strong>Gigafactory</strong>
        <nav>
          <Link to="/" className={route.view === "overview" ? "active" : ""}>
            Overview
          </Link>
          <Link to="/jobs" className={route.view === "jobs" || route.view === "job" ? "active" : ""}>
            Jobs
          </Link>
          <Link to="/factories" className={route.view === "factories" ? "active" : ""}>
            Factories
          </Link>
          {session.role === "admin" ? (
            <Link to="/insights" className={route.view === "insights" ? "active" : ""}>
              Insights
            </Link>
          ) : null}
        </nav>
        <span className="spacer" />
        <span className={`badge socket-${session.socket.state}`} title="live updates">
          {session.socket.state === "open"
            ? "live"
            : session.socket.retries
              ? `reconnecting (${session.socket.retries})`
              : "connecting"}
        </span>
        <span className="muted small" data-testid="role">
          {session.productId} · {session.role}
        </span>
        <button type="button" onClick={() => session.signOut()}>
          Sign out
        </button>
      </header>
      <main className="page">
        {route.view === "overview" ? <Overview /> : null}
        {route.view === "jobs" ? <Jobs query={route.query} /> : null}
        {route.view === "job" ? <JobPage key={route.jobId} jobId={route.jobId} /> : null}
        {route.view === "factories" ? <Factories /> : null}
        {route.view === "insights" && session.role === "admin" ? <Insights /> : null}
      </main>
    </>
  );
}
