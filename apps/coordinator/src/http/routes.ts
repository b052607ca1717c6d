import type { IncomingMessage, ServerResponse } from "node:http";
import { ArtifactPutMeta } from "@gigafactory/schema";
import { TRPCError } from "@trpc/server";
import { DomainError } from "../errors.js";
import type { Logger } from "../logger.js";
import { TooLargeError } from "../modules/artifacts/blob-store.js";
import { bearerToken } from "../modules/auth/tokens.js";
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
  deps: { services: Services; ready: () => Promise<boolean>; logger: Logger },
): Promise<boolean> {
  const url = new URL(req.url ?? "/", "http://localhost");
  if (url.pathname === "/healthz") return send(res, 200, { ok: true });
  if (url.pathname === "/readyz") {
    const ready = await deps.ready();
    return send(res, ready ? 200 : 503, { ok: ready });
  }
  // only `/artifacts` and `/artifacts/...`: tRPC's own `/artifacts.list` must fall through
  if (url.pathname !== "/artifacts" && !url.pathname.startsWith("/artifacts/")) return false;

  const principal = await deps.services.tokens.verify(bearerToken(req.headers.authorization));
  if (!principal) return fail(res, "UNAUTHORIZED", "a valid bearer token is required");
  try {
    if (req.method === "PUT" && url.pathname === "/artifacts") {
      if (principal.role !== "factory") return fail(res, "FORBIDDEN", "uploads need a factory token");
      const meta = ArtifactPutMeta.safeParse({
        jobId: url.searchParams.get("jobId"),
        epoch: Number(url.searchParams.get("epoch")),
        factoryId: url.searchParams.get("factoryId"),
        runId: url.searchParams.get("runId"),
        name: url.searchParams.get("name"),
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
      res.writeHead(200, { "content-type": artifact.contentType, "content-length": size, "x-sha256": artifact.sha256 });
      stream.pipe(res);
      return true;
    }
    return fail(res, "NOT_FOUND", `no route ${req.method} ${url.pathname}`);
  } catch (error) {
    if (error instanceof TooLargeError) {
      req.resume();
      // the rest of the body was not read: this connection cannot carry another request
      if (!res.headersSent) res.setHeader("connection", "close");
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
