import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { bearerToken } from "../auth/tokens.js";
import type { TokensService } from "../auth/tokens.js";
import type { FleetMetrics } from "./fleet-metrics.js";

export interface MetricsRouteDeps {
  metrics: FleetMetrics;
  tokens: Pick<TokensService, "verify">;
  /** `GF_METRICS_TOKEN`: a scrape-only secret, so Prometheus needs no admin token. */
  metricsToken: string | undefined;
}

/**
 * `GET /metrics`: the Prometheus exposition, for an admin token or the metrics token. 404 when
 * metrics are off; 401 without a valid credential (a scrape reveals fleet size and throughput).
 */
export async function serveMetrics(req: IncomingMessage, res: ServerResponse, deps: MetricsRouteDeps): Promise<void> {
  if (!deps.metrics.enabled) return plain(res, 404, "metrics are off (GF_METRICS=false)\n");
  if (req.method !== "GET" && req.method !== "HEAD") return plain(res, 405, "GET /metrics\n");
  const token = bearerToken(req.headers.authorization);
  if (!(await allowed(token, deps))) {
    res.setHeader("www-authenticate", 'Bearer realm="metrics"');
    return plain(res, 401, "an admin token or GF_METRICS_TOKEN is required\n");
  }
  const { contentType, body } = await deps.metrics.scrape();
  res.writeHead(200, { "content-type": contentType, "cache-control": "no-store" });
  res.end(req.method === "HEAD" ? undefined : body);
}

async function allowed(token: string | undefined, deps: MetricsRouteDeps): Promise<boolean> {
  if (!token) return false;
  if (deps.metricsToken && sameSecret(token, deps.metricsToken)) return true;
  const principal = await deps.tokens.verify(token);
  return principal?.role === "admin";
}

function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function plain(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8" });
  res.end(text);
}
