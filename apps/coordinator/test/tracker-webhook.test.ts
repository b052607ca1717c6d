import { sign } from "@octokit/webhooks-methods";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestClient } from "./support/client.js";
import { ScriptedGitHub } from "./support/github-server.js";
import { Harness, poll } from "./support/harness.js";

const SECRET = "webhook-secret-for-tests";
const BOT = "gigafactory[bot]";
let serial = 0;

describe("POST /webhooks/github", () => {
  let github: ScriptedGitHub;
  let h: Harness;
  let service: TestClient;
  beforeAll(async () => {
    github = await ScriptedGitHub.start();
    h = await Harness.start("tracker-webhook", {
      env: {
        GF_GITHUB_API_URL: github.url,
        GF_GITHUB_TOKEN: "ghp_test",
        GF_GITHUB_WEBHOOK_SECRET: SECRET,
        GF_GITHUB_BOT_LOGIN: BOT,
        GF_TRACKER_EVERY: "100ms",
      },
    });
    service = await h.as("service");
  });
  afterAll(async () => {
    await h?.close();
    await github?.close();
  });

  const labeled = (number: number, sender = "alice", label = "gigafactory") => ({
    action: "labeled",
    label: { name: label },
    issue: { number, labels: [{ name: label }] },
    repository: { full_name: "acme/hooks" },
    sender: { login: sender, type: sender === BOT ? "Bot" : "User" },
  });

  async function deliver(
    payload: unknown,
    opts: { delivery?: string; signature?: string | null; event?: string } = {},
  ) {
    const body = JSON.stringify(payload);
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "x-github-event": opts.event ?? "issues",
      "x-github-delivery": opts.delivery ?? `d-${process.pid}-${++serial}`,
    };
    const signature = opts.signature === undefined ? await sign(SECRET, body) : opts.signature;
    if (signature !== null) headers["x-hub-signature-256"] = signature;
    return fetch(`${h.url}/webhooks/github`, { method: "POST", headers, body });
  }

  const jobsFor = (ref: string) => h.db.collection("jobs").countDocuments({ trackerItemId: ref });

  it("a signed labeled event is answered at once and imports the issue as one job", async () => {
    github.issue("acme/hooks", 1, { title: "From a hook", body: "do it", labels: ["gigafactory"] });
    const response = await deliver(labeled(1), { delivery: "delivery-one" });
    expect(response.status).toBe(202);
    expect(await response.json()).toMatchObject({ queued: "import", ref: "github:acme/hooks#1" });
    await poll(async () => (await jobsFor("github:acme/hooks#1")) === 1, { tries: 400, what: "the import" });
    const { items } = await service.trpc.jobs.list.query({ trackerItemId: "github:acme/hooks#1" });
    expect(items.map((job) => job.title)).toEqual(["From a hook"]);
    await poll(
      async () =>
        (await h.db.collection("tracker_deliveries").findOne({ _id: "github:delivery-one" as never }))?.status ===
        "done",
      { tries: 400, what: "the delivery to be done" },
    );

    // the same delivery again: answered as a duplicate, no second job, no second fetch
    const fetches = github.calls("issues/get").length;
    const again = await deliver(labeled(1), { delivery: "delivery-one" });
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ duplicate: true });
    expect(await jobsFor("github:acme/hooks#1")).toBe(1);
    expect(github.calls("issues/get").length).toBe(fetches);
    expect(github.violations).toEqual([]);
  });

  it("a wrong or missing signature is 401 and writes nothing", async () => {
    github.issue("acme/hooks", 2, { title: "Forged", body: "x", labels: ["gigafactory"] });
    const before = await h.counts();
    const deliveries = await h.db.collection("tracker_deliveries").countDocuments();
    const wrong = await deliver(labeled(2), { signature: await sign("not-the-secret", JSON.stringify(labeled(2))) });
    expect(wrong.status).toBe(401);
    const missing = await deliver(labeled(2), { signature: null });
    expect(missing.status).toBe(401);
    // a valid signature over other bytes
    const other = await deliver(labeled(2), { signature: await sign(SECRET, JSON.stringify(labeled(3))) });
    expect(other.status).toBe(401);
    expect(await h.counts()).toEqual(before);
    expect(await h.db.collection("tracker_deliveries").countDocuments()).toBe(deliveries);
  });

  it("an event sent by our own bot is ignored", async () => {
    github.issue("acme/hooks", 4, { title: "Bot", body: "x", labels: ["gigafactory"] });
    const response = await deliver(labeled(4, BOT));
    expect(response.status).toBe(202);
    expect(await response.json()).toMatchObject({ ignored: "sent by our own bot" });
    // a later delivery for another issue is imported, so this one had its chance
    github.issue("acme/hooks", 5, { title: "Later", body: "x", labels: ["gigafactory"] });
    await deliver(labeled(5));
    await poll(async () => (await jobsFor("github:acme/hooks#5")) === 1, { tries: 400, what: "the later import" });
    expect(await jobsFor("github:acme/hooks#4")).toBe(0);
  });

  it("20 concurrent deliveries of the same issue make one job", async () => {
    github.issue("acme/hooks", 6, { title: "Storm", body: "x", labels: ["gigafactory"] });
    const responses = await Promise.all(Array.from({ length: 20 }, () => deliver(labeled(6))));
    expect(responses.map((response) => response.status)).toEqual(Array(20).fill(202));
    await poll(
      async () =>
        (await h.db
          .collection("tracker_deliveries")
          .countDocuments({ "work.ref": "github:acme/hooks#6", status: "queued" })) === 0,
      { tries: 600, what: "every delivery to run" },
    );
    expect(await jobsFor("github:acme/hooks#6")).toBe(1);
  });

  it("closing the issue cancels its job while no factory has started it", async () => {
    github.issue("acme/hooks", 7, { title: "Close me", body: "x", labels: ["gigafactory"] });
    await deliver(labeled(7));
    await poll(async () => (await jobsFor("github:acme/hooks#7")) === 1, { tries: 400, what: "the import" });
    const closed = {
      action: "closed",
      issue: { number: 7, labels: [{ name: "gigafactory" }] },
      repository: { full_name: "acme/hooks" },
      sender: { login: "alice" },
    };
    expect((await deliver(closed)).status).toBe(202);
    const job = await poll(
      async () => {
        const { items } = await service.trpc.jobs.list.query({ trackerItemId: "github:acme/hooks#7" });
        return items[0]?.stage === "cancelled" && items[0];
      },
      { tries: 400, what: "the cancel" },
    );
    expect(job.reason).toContain("closed");
  });
});
