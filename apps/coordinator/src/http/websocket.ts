import type { WebSocket, WebSocketServer } from "ws";
import type { Logger } from "../logger.js";
import type { LimitOptions } from "../options.js";

/** Close codes the coordinator uses (4000-4999 are the application's). */
export const WS_CLOSE = {
  unauthenticated: 4401,
} as const;

/** Sockets whose connection params carried a valid token (set by the tRPC context factory). */
const authenticated = new WeakSet<object>();

/** Marks a WebSocket as authenticated, so the auth deadline leaves it open. */
export function markAuthenticated(socket: object): void {
  authenticated.add(socket);
}

/**
 * Guards every WebSocket of `wss`: one that has not authenticated within `wsAuthDeadlineMs` is
 * closed, and so is one whose unread queue exceeds `wsMaxBufferedBytes` (a slow consumer; its
 * streams resume from their last event id when it reconnects). `maxPayload` is set where the
 * server is made. Returns a function that stops the checks.
 */
export function guardWebSockets(
  wss: WebSocketServer,
  limits: Pick<LimitOptions, "wsAuthDeadlineMs" | "wsMaxBufferedBytes" | "wsBufferCheckMs">,
  logger: Logger,
): () => void {
  wss.on("connection", (socket: WebSocket) => {
    const deadline = setTimeout(() => {
      if (authenticated.has(socket)) return;
      logger.info("closing a WebSocket that did not authenticate in time");
      socket.close(WS_CLOSE.unauthenticated, "no valid token in the connection params");
      // a peer that ignores the close handshake is cut
      setTimeout(() => socket.terminate(), 1_000).unref();
    }, limits.wsAuthDeadlineMs);
    deadline.unref();
    socket.once("close", () => clearTimeout(deadline));
  });
  const check = setInterval(() => {
    for (const socket of wss.clients) {
      if (socket.bufferedAmount <= limits.wsMaxBufferedBytes) continue;
      logger.warn({ bufferedBytes: socket.bufferedAmount }, "closing a slow WebSocket consumer");
      // its queue is the problem: a close frame would wait behind it
      socket.terminate();
    }
  }, limits.wsBufferCheckMs);
  check.unref();
  return () => clearInterval(check);
}
