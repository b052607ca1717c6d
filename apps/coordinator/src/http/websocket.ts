import type { WebSocket, WebSocketServer } from "ws";
import type { Logger } from "../logger.js";
import type { TokensService } from "../modules/auth/tokens.js";
import type { LimitOptions } from "../options.js";

/** Close codes the coordinator uses (4000-4999 are the application's). */
export const WS_CLOSE = {
  unauthenticated: 4401,
  /** The token the socket authenticated with was revoked. */
  revoked: 4403,
} as const;

/** The token (its id, the hash) each WebSocket authenticated with (set by the tRPC context factory). */
const tokenOf = new WeakMap<object, string>();

/** Marks a WebSocket as authenticated with the token `tokenId`, so the auth deadline leaves it open. */
export function markAuthenticated(socket: object, tokenId: string): void {
  tokenOf.set(socket, tokenId);
}

/**
 * Guards every WebSocket of `wss`: one that has not authenticated within `wsAuthDeadlineMs` is
 * closed, and so is one whose unread queue exceeds `wsMaxBufferedBytes` (a slow consumer; its
 * streams resume from their last event id when it reconnects). A socket whose token is revoked is
 * closed (4403): at once when the revocation goes through this coordinator, else at the next
 * re-check of the open sockets' tokens (every `wsTokenRecheckMs`). `maxPayload` is set where the
 * server is made. Returns a function that stops the checks.
 */
export function guardWebSockets(
  wss: WebSocketServer,
  limits: Pick<LimitOptions, "wsAuthDeadlineMs" | "wsMaxBufferedBytes" | "wsBufferCheckMs" | "wsTokenRecheckMs">,
  logger: Logger,
  tokens: Pick<TokensService, "isActive" | "onRevoke">,
): () => void {
  wss.on("connection", (socket: WebSocket) => {
    const deadline = setTimeout(() => {
      if (tokenOf.has(socket)) return;
      logger.info("closing a WebSocket that did not authenticate in time");
      closeFirmly(socket, WS_CLOSE.unauthenticated, "no valid token in the connection params");
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

  const closeRevoked = (tokenId: string) => {
    for (const socket of wss.clients) {
      if (tokenOf.get(socket) !== tokenId) continue;
      logger.info("closing a WebSocket whose token was revoked");
      closeFirmly(socket, WS_CLOSE.revoked, "token revoked");
    }
  };
  const stopListening = tokens.onRevoke(closeRevoked);
  let rechecking = false;
  const recheck = setInterval(() => {
    if (rechecking) return;
    rechecking = true;
    const ids = new Set<string>();
    for (const socket of wss.clients) {
      const id = tokenOf.get(socket);
      if (id) ids.add(id);
    }
    void Promise.all(
      [...ids].map(async (id) => {
        if (!(await tokens.isActive(id))) closeRevoked(id);
      }),
    )
      .catch((error: unknown) => logger.warn({ err: error }, "re-checking the WebSockets' tokens failed"))
      .finally(() => {
        rechecking = false;
      });
  }, limits.wsTokenRecheckMs);
  recheck.unref();

  return () => {
    clearInterval(check);
    clearInterval(recheck);
    stopListening();
  };
}

/** Closes with `code`; a peer that ignores the close handshake is cut a second later. */
function closeFirmly(socket: WebSocket, code: number, reason: string): void {
  socket.close(code, reason);
  setTimeout(() => socket.terminate(), 1_000).unref();
}
