import type { IncomingMessage, ServerResponse } from "node:http";
import { pipeline } from "node:stream/promises";
import { ArtifactPutMeta } from "@gigafactory/schema";
import { TRPCError } from "@trpc/server";
import { DomainError, FencedError } from "../errors.js";
import type { Logger } from "../logger.js";
import { TooLargeError } from "../modules/artifacts/blob-store.js";
import { bearerToken } from "../modules/auth/tokens.js";
import { handleGitHubWebhook } from "../modules/tracker/github-webhook.js";
import { serveMetrics } from "../modules/metrics/metrics.route.js";
import type { Services } from "../services.js";
import { httpErrorOf } from "./errors.js";

/**
 * The few plain HTTP routes beside tRPC: health probes and artifact bytes. Artifacts stream
 * here because a tRPC binary input carries no metadata and would be buffered whole.
 * Returns false when the request is not one of these routes.
 */
export async function handlePlainRoute(
  req: IncomingMessage,
  res: ServerResponse,
  deps: { services: Services; ready: () => Promise<boolean>; logger: Logger; metricsToken?: string | undefined },
): Promise<boolean> {
  const url = new URL(req.url ?? "/", "http://localhost");
  const inUrl = credentialInUrl(url);
  if (inUrl) return fail(res, "BAD_REQUEST", `tokens go in the Authorization header, never in the URL (?${inUrl}=)`);
  if (url.pathname === "/healthz") return send(res, 200, { ok: true });
  if (url.pathname === "/readyz") {
    const ready = await deps.ready();
    return send(res, ready ? 200 : 503, { ok: ready });
  }
  if (url.pathname === "/webhooks/github" && deps.services.trackerWebhook)
    return handleGitHubWebhook(req, res, { ...deps.services.trackerWebhook, logger: deps.logger }).then(() => true);
  if (url.pathname === "/metrics")
    return serveMetrics(req, res, { ...deps.services, metricsToken: deps.metricsToken }).then(() => true);
  // only `/artifacts` and `/artifacts/...`: tRPC's own `/artifacts.list` must fall through
  if (url.pathname !== "/artifacts" && !url.pathname.startsWith("/artifacts/")) return false;

  const principal = await deps.services.tokens.verify(bearerToken(req.headers.authorization));
  if (!principal) return fail(res, "UNAUTHORIZED", "a valid bearer token is required");
  const limited = deps.services.rateLimiter.take(principal);
  if (limited) {
    res.setHeader("retry-after", String(Math.ceil(limited.retryAfterMs / 1000)));
    return fail(res, "TOO_MANY_REQUESTS", limited.message);
  }
  try {
    if (req.method === "PUT" && url.pathname === "/artifacts") {
      if (principal.role !== "factory") return fail(res, "FORBIDDEN", "uploads need a factory token");
      const meta = ArtifactPutMeta.safeParse({
        jobId: url.searchParams.get("jobId"),
        epoch: Number(url.searchParams.get("epoch")),
        factoryId: url.searchParams.get("factoryId"),
        runId: url.searchParams.get("runId"),
        name: url.searchParams.get("name"),
        requestId: url.searchParams.get("requestId") ?? undefined,
        contentType: req.headers["content-type"] ?? "application/octet-stream",
      });
      if (!meta.success) return fail(res, "BAD_REQUEST", "invalid artifact metadata", meta.error);
      await deps.services.factories.authorize(principal, meta.data.factoryId);
      const artifact = await deps.services.artifacts.put(principal.productId, meta.data, req);
      return send(res, 201, artifact);
    }
    const download = /^\/artifacts\/([A-Za-z0-9_:.-]+)\/content$/.exec(url.pathname);
    if (req.method === "GET" && download?.[1]) {
      if (principal.role === "factory") return fail(res, "FORBIDDEN", "downloads need a service or admin token");
      const { artifact, stream, size } = await deps.services.artifacts.open(principal.productId, download[1]);
      res.writeHead(200, {
        ...downloadHeaders(artifact.name, artifact.contentType),
        "content-length": size,
        "x-sha256": artifact.sha256,
      });
      // pipeline closes the file when the client goes away mid-download
      await pipeline(stream, res).catch((error: unknown) => {
        if (!res.destroyed) deps.logger.warn({ err: error }, "artifact download failed");
      });
      return true;
    }
    return fail(res, "NOT_FOUND", `no route ${req.method} ${url.pathname}`);
  } catch (error) {
    if (error instanceof TooLargeError) {
      req.resume();
      // the rest of the body was not read: this connection cannot carry another request
      if (!res.headersSent) res.setHeader("connection", "close");
    } else if (error instanceof FencedError) {
      deps.services.metrics.writeFenced();
    } else if (!(error instanceof DomainError)) {
      deps.logger.error({ err: error }, "artifact route failed");
    }
    const { status, body } = httpErrorOf(error);
    return send(res, status, body);
  }
}

/** An error answer whose status comes from the one code → status table (tRPC's). */
function fail(res: ServerResponse, code: TRPCError["code"], message: string, cause?: unknown): true {
  const { status, body } = httpErrorOf(new TRPCError({ code, message, cause }));
  return send(res, status, body);
}

function send(res: ServerResponse, status: number, body: unknown): true {
  if (!res.headersSent) res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
  return true;
}

/** Query parameters that would carry a credential; tRPC reads `connectionParams` over HTTP too. */
const CREDENTIAL_PARAMS = ["token", "access_token", "connectionParams"];

/**
 * The name of a query parameter that carries a credential, if any: URLs end up in logs and
 * histories, so tokens travel only in headers (and WebSocket connection params). A WebSocket's
 * `connectionParams=1` is tRPC's flag saying they come in the first message, not a credential.
 */
export function credentialInUrl(url: URL, opts: { websocket?: boolean } = {}): string | undefined {
  return CREDENTIAL_PARAMS.find((name) => {
    const value = url.searchParams.get(name);
    if (value === null) return false;
    return !(opts.websocket && name === "connectionParams" && value === "1");
  });
}

/** Types a browser shows as they are without running anything; everything else is plain bytes. */
const SAFE_CONTENT_TYPES = new Set([
  "text/plain",
  "application/json",
  "application/x-ndjson",
  "text/x-diff",
  "text/x-patch",
  "text/markdown",
  "image/png",
  "image/jpeg",
  "image/gif",
  "application/gzip",
  "application/zip",
  "application/pdf",
]);

/**
 * Headers for an artifact's bytes: always an attachment, never sniffed, and sent as
 * `application/octet-stream` unless the uploader's type is one known to be inert (an `.html`
 * artifact must not run in a browser under the coordinator's origin).
 */
export function downloadHeaders(name: string, contentType: string): Record<string, string> {
  const base = contentType.split(";")[0]?.trim().toLowerCase() ?? "";
  const safe = SAFE_CONTENT_TYPES.has(base);
  const fileName = name.replace(/[^A-Za-z0-9._-]/g, "_");
  return {
    "content-type": safe ? base : "application/octet-stream",
    "content-disposition": `attachment; filename="${fileName}"`,
    "x-content-type-options": "nosniff",
    "content-security-policy": "sandbox; default-src 'none'",
  };
}
