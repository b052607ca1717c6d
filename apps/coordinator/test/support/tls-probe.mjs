// A client in its own process (so NODE_EXTRA_CA_CERTS applies), wired as the SDK wires it:
// one query over HTTPS (batched fetch) and one subscription over WSS. Prints one JSON line.
import { createTRPCClient, createWSClient, httpBatchLink, splitLink, wsLink } from "@trpc/client";
import superjson from "superjson";
import WebSocket from "ws";

const [url, token] = process.argv.slice(2);
const wsClient = createWSClient({
  url: url.replace(/^http/, "ws"),
  connectionParams: { token },
  WebSocket,
  lazy: { enabled: true, closeMs: 0 },
  retryDelayMs: () => 100,
});
const trpc = createTRPCClient({
  links: [
    splitLink({
      condition: (op) => op.type === "subscription",
      true: wsLink({ client: wsClient, transformer: superjson }),
      false: httpBatchLink({ url, transformer: superjson, headers: { authorization: `Bearer ${token}` } }),
    }),
  ],
});
const result = {};
try {
  result.jobs = (await trpc.jobs.list.query({})).items.length;
  result.subscribed = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no subscription start")), 20_000);
    const sub = trpc.jobs.feed.subscribe(
      {},
      {
        onStarted: () => {
          clearTimeout(timer);
          sub.unsubscribe();
          resolve(true);
        },
        onError: (error) => reject(error),
      },
    );
  });
} catch (error) {
  result.error = String(error?.cause?.code ?? error?.cause?.message ?? error?.message ?? error);
}
await wsClient.close();
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
