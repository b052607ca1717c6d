import { useEffect, useState } from "react";

/** The few client routes; the coordinator answers any of them with index.html. */
export type Route =
  | { view: "overview" }
  | { view: "jobs"; query: URLSearchParams }
  | { view: "job"; jobId: string }
  | { view: "factories" }
  | { view: "insights" };

export function parseRoute(path: string, search: string): Route {
  const job = /^\/jobs\/([^/]+)$/.exec(path);
  if (job?.[1]) return { view: "job", jobId: decodeURIComponent(job[1]) };
  if (path === "/jobs") return { view: "jobs", query: new URLSearchParams(search) };
  if (path === "/factories") return { view: "factories" };
  if (path === "/insights") return { view: "insights" };
  return { view: "overview" };
}

const listeners = new Set<() => void>();

export function navigate(to: string): void {
  history.pushState(null, "", to);
  for (const listener of listeners) listener();
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.pathname, location.search));
  useEffect(() => {
    const update = () => setRoute(parseRoute(location.pathname, location.search));
    listeners.add(update);
    window.addEventListener("popstate", update);
    return () => {
      listeners.delete(update);
      window.removeEventListener("popstate", update);
    };
  }, []);
  return route;
}
