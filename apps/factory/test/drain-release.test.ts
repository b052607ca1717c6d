import { type IncomingMessage, type Server, type ServerResponse, createServer, request } from "node:http";
import { afterEach, describe, expect, inject, it } from "vitest";
import { type Cluster, startCluster } from "./support/cluster.js";
import { startFactory, stopAllFactories } from "./support/factory-process.js";
import { runsOf, waitFor } from "./support/wait.js";

const clusters: Cluster[] = [];
const servers: Server[] = [];

afterEach(async () => {
  await stopAllFactories();
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  await Promise.all(clusters.splice(0).map((cluster) => cluster.close()));
});

/**
 * A pass-through HTTP proxy in front of the coordinator (WebSocket upgrades refused) that can
 * hold the answers of `factory.claim` until told to let them go, and refuse the next
 * `factory.release` with a 503, as a coordinator restarting behind a load balancer would.
 */
async function flakyProxy(target: string) {
  const { hostname, port } = new URL(target);
  let holdClaims = false;
  let releaseClaims: () => void = () => {};
  let claimsLetGo = new Promise<void>((resolve) => (releaseClaims = resolve));
  let claimHeld: () => void = () => {};
  const claimArrived = new Promise<void>((resolve) => (claimHeld = resolve));
  let refuseReleases = 0;
  const seen: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? "/";
    seen.push(path);
    if (path.includes("factory.release") && refuseReleases > 0) {
      refuseReleases--;
      req.resume();
      res.writeHead(503, { "content-type": "text/plain" }).end("coordinator restarting");
      return;
    }
    const upstream = request(
      { hostname, port, method: req.method, path, headers: req.headers },
      async (answer: IncomingMessage) => {
        const chunks: Buffer[] = [];
        for await (const chunk of answer) chunks.push(chunk as Buffer);
        const body = Buffer.concat(chunks);
        // only a claim that got a job is held: an empty poll goes through
        if (holdClaims && path.includes("factory.claim") && !body.toString("utf8").includes('"jobs":[]')) {
          claimHeld();
          await claimsLetGo;
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        res.end(body);
      },
    );
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  // no WebSockets through this proxy (as behind a balancer without them): the factory then makes
  // every call over HTTP, where the proxy can hold and refuse them
  server.on("upgrade", (_req: IncomingMessage, socket) => {
    socket.end("HTTP/1.1 501 Not Implemented\r\nconnection: close\r\n\r\n");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  servers.push(server);
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("proxy has no port");
  return {
    url: `http://127.0.0.1:${address.port}`,
    seen,
    holdClaims() {
      holdClaims = true;
    },
    claimArrived,
    letClaimsGo() {
      holdClaims = false;
      releaseClaims();
      claimsLetGo = Promise.resolve();
    },
    refuseNextRelease() {
      refuseReleases = 1;
    },
  };
}

describe("a job claimed while the factory starts to drain", () => {
  it("is given back even when the first release fails: released, not left to lapse", async () => {
    // a long lease: a job left to lapse would still be held when the factory is gone
    const cluster = await startCluster({
      mongoUrl: inject("mongoUrl"),
      label: "factory-drain-release",
      env: { GF_LEASE_TTL: "60s" },
    });
    clusters.push(cluster);
    const proxy = await flakyProxy(cluster.url);
    const factory = await startFactory(cluster, {
      factoryId: "drain-release",
      sandbox: false,
      env: { GF_URL: proxy.url },
    });

    // the claim reaches the coordinator; its answer waits in the proxy
    proxy.holdClaims();
    const { job } = await cluster.service.trpc.jobs.create.mutate({
      title: "claimed while draining",
      engine: "shell",
      bodyMd: "echo never runs here",
    });
    await proxy.claimArrived;
    await waitFor("the job claimed", async () => {
      const current = await cluster.service.trpc.jobs.get.query({ jobId: job._id });
      return current.stage === "building" && current.lease.holder === "drain-release";
    });

    // SIGTERM: the factory drains; then the claim's answer arrives and the first release is refused
    proxy.refuseNextRelease();
    const stopped = factory.stop("SIGTERM");
    await factory.waitForLog("draining", (entry) => entry.msg === "draining");
    proxy.letClaimsGo();
    await stopped;

    expect(proxy.seen.filter((path) => path.includes("factory.release")).length).toBeGreaterThanOrEqual(2);
    const after = await cluster.service.trpc.jobs.get.query({ jobId: job._id });
    expect(after.stage).toBe("inbox");
    expect(after.lastResult).toBe("released");
    expect(after.lease.holder).toBeNull();
    expect((await runsOf(cluster.service, job._id)).map((run) => run.result)).toEqual(["released"]);
  });
});
