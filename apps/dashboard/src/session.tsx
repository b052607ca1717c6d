import type { Role } from "@gigafactory/schema";
import { type QueryClient, useQuery, useQueryClient } from "@tanstack/react-query";
import { createContext, useContext, useEffect, useMemo, useRef, useState } from "react";
import { type SocketState, type Trpc, createClient } from "./trpc.js";

export interface Session {
  trpc: Trpc;
  role: Role;
  productId: string;
  token: string;
  socket: SocketState;
  signOut: () => void;
}

const SessionContext = createContext<Session | null>(null);
export const SessionProvider = SessionContext.Provider;

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside a signed-in page");
  return session;
}

/** A client for the token, and who the token is (`dashboard.whoami`). */
export function useClient(token: string) {
  const [socket, setSocket] = useState<SocketState>({ state: "connecting", retries: 0 });
  const client = useMemo(() => createClient(token, setSocket), [token]);
  useEffect(
    () => () => {
      void client.close();
    },
    [client],
  );
  const whoami = useQuery({
    queryKey: ["whoami", token],
    queryFn: () => client.trpc.dashboard.whoami.query(),
    retry: (count, error) => !isUnauthorized(error) && count < 100,
    retryDelay: (attempt) => Math.min(10_000, 500 * 2 ** attempt),
  });
  return { client, socket, whoami };
}

export function isUnauthorized(error: unknown): boolean {
  const data = (error as { data?: { code?: string } } | null)?.data;
  return data?.code === "UNAUTHORIZED";
}

/** Feed events that never change a job's stage or a list: the bulk of a running job's events. */
const RUN_CHATTER: ReadonlySet<string> = new Set(["log", "message", "tool_use"]);

/**
 * The product's feed over the WebSocket: every event marks the lists it touches stale, so they
 * are read again at once (at most every `gapMs`), pushed rather than polled.
 */
export function useLiveFeed(trpc: Trpc, gapMs = 150): void {
  const queryClient = useQueryClient();
  const pending = useRef<{ timer?: ReturnType<typeof setTimeout>; jobs: Set<string> }>({ jobs: new Set() });
  useEffect(() => {
    const flush = (client: QueryClient) => {
      const jobs = [...pending.current.jobs];
      pending.current = { jobs: new Set() };
      void client.invalidateQueries({ queryKey: ["overview"] });
      void client.invalidateQueries({ queryKey: ["jobs"] });
      for (const jobId of jobs) void client.invalidateQueries({ queryKey: ["job", jobId] });
    };
    const subscription = trpc.jobs.feed.subscribe(
      { lastEventId: null },
      {
        onData: (envelope) => {
          const item = envelope.data;
          // a run's chatter changes no list; everything else may (a completion names no stage)
          if (!item.stage && RUN_CHATTER.has(item.type)) return;
          pending.current.jobs.add(item.jobId);
          pending.current.timer ??= setTimeout(() => flush(queryClient), gapMs);
        },
      },
    );
    return () => {
      subscription.unsubscribe();
      clearTimeout(pending.current.timer);
    };
  }, [trpc, queryClient, gapMs]);
}

/** Now, ticking every `everyMs`: for ages that grow while nothing else changes. */
export function useNow(everyMs = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}
