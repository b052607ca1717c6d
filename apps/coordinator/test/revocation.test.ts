import { createHash } from "node:crypto";
import type { SpawnedCoordinator } from "@gigafactory/coordinator/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { type ClientError, codeOf } from "./support/client.js";
import { Harness, poll } from "./support/harness.js";

/**
 * A raw WebSocket as tRPC's client opens it, authenticated with `token`, with one `jobs.feed`
 * subscription started on it.
 */
async function subscribedSocket(url: string, token: string) {
  const socket = new WebSocket(`${url.replace(/^http/, "ws")}/?connectionParams=1`);
  socket.on("error", () => {}); // a reset after the server closes is expected
  let code: number | undefined;
  socket.once("close", (closedWith) => {
    code = closedWith;
  });
  /** The close code, waited for boundedly (generous: B re-checks every 10 s). */
  const closed = () => poll(async () => code, { tries: 600, everyMs: 100, what: "the socket to be closed" });
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("close", () => reject(new Error("closed before it opened")));
  });
  const started = new Promise<void>((resolve) =>
    socket.on("message", (data) => {
      if (String(data) === "PING") return socket.send("PONG"); // the keep-alive
      const message = JSON.parse(String(data)) as { id?: number; result?: { type?: string } };
      if (message.id === 1 && message.result?.type === "started") resolve();
    }),
  );
  socket.send(JSON.stringify({ method: "connectionParams", data: { token } }));
  socket.send(JSON.stringify({ id: 1, method: "subscription", params: { path: "jobs.feed", input: { json: {} } } }));
  await started;
  return { socket, closed };
}

const tokenId = (token: string) => createHash("sha256").update(token).digest("hex");

describe("revoking a token", () => {
  let h: Harness;
  let b: SpawnedCoordinator;
  beforeAll(async () => {
    h = await Harness.start("revocation");
    b = await h.second();
  });
  afterAll(() => h?.close());

  it("closes the WebSockets opened with it, here at once and on another coordinator soon", {
    timeout: 120_000,
  }, async () => {
    const token = await h.token("service");
    const other = await h.token("service");
    const onA = await subscribedSocket(h.url, token);
    const onB = await subscribedSocket(b.url, token);
    const bystander = await subscribedSocket(h.url, other);

    await h.admin.trpc.admin.revokeToken.mutate({ tokenId: tokenId(token) });
    expect(await onA.closed()).toBe(4403);
    // B learns it at its next re-check of its sockets' tokens (within the token cache's TTL)
    expect(await onB.closed()).toBe(4403);
    // a socket with another token stays open
    expect(bystander.socket.readyState).toBe(WebSocket.OPEN);
    bystander.socket.close();

    // and a new call with the revoked token fails, on either coordinator
    for (const url of [h.url, b.url]) {
      const refused = await h
        .client(token, url)
        .trpc.jobs.list.query({})
        .catch((error: ClientError) => error);
      expect(codeOf(refused as ClientError).code).toBe("UNAUTHORIZED");
    }
  });
});
