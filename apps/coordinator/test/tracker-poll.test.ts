import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ScriptedGitHub } from "./support/github-server.js";
import { Harness, poll } from "./support/harness.js";

describe("the polling safety net", () => {
  let github: ScriptedGitHub;
  let h: Harness;
  beforeAll(async () => {
    github = await ScriptedGitHub.start();
    github.issue("acme/polled", 1, { title: "Missed hook", body: "x", labels: ["gigafactory"] });
    github.issue("acme/polled", 2, { title: "Not for us", body: "x", labels: ["bug"] });
    h = await Harness.start("tracker-poll", {
      env: { GF_GITHUB_API_URL: github.url, GF_GITHUB_REPOS: "acme/polled", GF_TRACKER_POLL_EVERY: "150ms" },
    });
  });
  afterAll(async () => {
    await h?.close();
    await github?.close();
  });

  it("imports a triggered issue no webhook announced, once, and asks again conditionally", async () => {
    await poll(
      async () => (await h.db.collection("jobs").countDocuments({ trackerItemId: "github:acme/polled#1" })) === 1,
      {
        tries: 600,
        what: "the polled import",
      },
    );
    // later polls of the unchanged list are answered 304 and create nothing more
    await poll(async () => github.notModified >= 2, { tries: 600, what: "conditional polls" });
    expect(await h.db.collection("jobs").countDocuments()).toBe(1);
    const lists = github.calls("issues/list-for-repo");
    expect(lists.length).toBeGreaterThanOrEqual(3);
    expect(github.violations).toEqual([]);
  });
});
