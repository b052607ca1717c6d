import { createReadStream } from "node:fs";
import { realpath, stat } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { extname, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { pipeline } from "node:stream/promises";

/**
 * Where the built dashboard (apps/dashboard/dist) is when `GF_DASHBOARD_DIR` does not say: the
 * same relative place from `src/http` (tsx) and `dist/http` (built).
 */
export const DEFAULT_DASHBOARD_DIR = fileURLToPath(new URL("../../../dashboard/dist", import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
  ".map": "application/json",
};

/** The page may talk only to its own origin (HTTP and the WebSocket) and load only its own files. */
const PAGE_HEADERS = {
  "content-security-policy":
    "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self'; " +
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};

/**
 * Serves the dashboard's static files at the root URL. tRPC paths always hold a dot
 * (`jobs.list`), client routes (`/jobs/abc`) never do: a GET for a path without a dot that is no
 * file gets `index.html`; a path with a dot is served only when it is a file of the build, else
 * it falls through to tRPC. Returns false when the request is not the dashboard's.
 */
export async function serveDashboard(req: IncomingMessage, res: ServerResponse, root: string): Promise<boolean> {
  if (req.method !== "GET" && req.method !== "HEAD") return false;
  const pathname = new URL(req.url ?? "/", "http://localhost").pathname;
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return false;
  }
  const clientRoute = !decoded.includes(".");
  if (decoded.includes("\0")) return false;
  const base = await realpath(root).catch(() => undefined);
  if (!base) {
    if (!clientRoute) return false;
    res.writeHead(503, { ...PAGE_HEADERS, "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
    res.end(NOT_BUILT_PAGE);
    return true;
  }
  const file = await fileUnder(base, decoded);
  if (file) return send(req, res, file.path, file.size, decoded.startsWith("/assets/"));
  if (!clientRoute) return false;
  const index = await fileUnder(base, "/index.html");
  if (!index) return false;
  return send(req, res, index.path, index.size, false);
}

/** The regular file `path` names inside `base`, after links are resolved; never one outside it. */
async function fileUnder(base: string, path: string): Promise<{ path: string; size: number } | undefined> {
  const candidate = resolve(base, `.${path}`);
  if (candidate !== base && !candidate.startsWith(base + sep)) return undefined;
  const real = await realpath(candidate).catch(() => undefined);
  if (!real?.startsWith(base + sep)) return undefined;
  const info = await stat(real).catch(() => undefined);
  return info?.isFile() ? { path: real, size: info.size } : undefined;
}

async function send(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  size: number,
  immutable: boolean,
): Promise<true> {
  const type = CONTENT_TYPES[extname(path).toLowerCase()] ?? "application/octet-stream";
  res.writeHead(200, {
    ...PAGE_HEADERS,
    "content-type": type,
    "content-length": size,
    // hashed asset names change with their content; index.html must be re-read to find them
    "cache-control": immutable ? "public, max-age=31536000, immutable" : "no-cache",
  });
  if (req.method === "HEAD") {
    res.end();
    return true;
  }
  await pipeline(createReadStream(path), res).catch(() => undefined);
  return true;
}

const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Gigafactory: dashboard not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; line-height: 1.5">
<h1>The dashboard is not built</h1>
<p>This coordinator is running, but it found no built dashboard to serve. Build it once:</p>
<pre>pnpm --filter @gigafactory/dashboard build</pre>
<p>or point <code>GF_DASHBOARD_DIR</code> at a built <code>apps/dashboard/dist</code>, then reload this page.</p>
</body></html>
`;
