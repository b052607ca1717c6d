// Submit a job from code and wait for it, against the fleet `gf up` started.
//
//   gf up                         # in one terminal
//   node sdk-example.mjs          # in another, in the same directory (or set GF_URL and GF_TOKEN)
//
// Needs @gigafactory/sdk installed where this file lives (npm install @gigafactory/sdk).
import { createGigafactoryClient, findFleetConnection, submitJobFile, waitForJob } from "@gigafactory/sdk";

// GF_URL / GF_TOKEN, else the nearest .gigafactory/fleet.json (its service token)
const connection = await findFleetConnection({ role: "service" });
if (!connection) throw new Error("no fleet found: run `gf up` here first, or set GF_URL and GF_TOKEN");
const client = createGigafactoryClient(connection);

try {
  const { job, created } = await submitJobFile(client, {
    file: "sdk-example.md",
    text: [
      "---",
      "title: Hello from the SDK",
      "engine: shell",
      "---",
      'echo "hello from a job submitted by the SDK"',
      "",
    ].join("\n"),
  });
  console.log(`${created ? "created" : "found"} ${job._id}: ${job.title}`);

  const done = await waitForJob(client, job._id, {
    signal: AbortSignal.timeout(120_000),
    onEvent: (event) => {
      if (event.type === "log") console.log(`  | ${event.data.line}`);
      else console.log(`  - ${event.type}`);
    },
  });
  const [run] = (await client.trpc.jobs.runs.query({ jobId: job._id })).slice(-1);
  console.log(
    `result: ${done.stage} after ${done.attempt} attempt(s) on ${run?.factoryId ?? "?"}, ${run?.insights.durationMs ?? "?"} ms`,
  );
  process.exitCode = done.stage === "shipped" ? 0 : 1;
} finally {
  await client.close();
}
