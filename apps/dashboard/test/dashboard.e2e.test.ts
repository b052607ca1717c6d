import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { CHROMIUM, chromiumMissing, launchChromium, screenshot } from "./support/browser.js";
import { type DashboardFleet, startDashboardFleet } from "./support/fleet.js";

/** A generous bound for anything pushed to the page: a loaded CI box is slow, never a hang. */
const WAIT = { timeout: 60_000 };

let fleet: DashboardFleet;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  if (chromiumMissing()) throw new Error(`no Chromium at ${CHROMIUM}: scripts/test.sh installs Debian's chromium`);
  fleet = await startDashboardFleet({ mongoUrl: inject("mongoUrl"), label: "dashboard-e2e" });
  browser = await launchChromium();
});

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => undefined);
  await browser?.close();
  await fleet?.close();
});

/** A fresh tab (its own sessionStorage), signed in through the URL fragment. */
async function signedIn(token: string, path = "/"): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  contexts.push(context);
  const page = await context.newPage();
  await page.goto(`${fleet.url}${path}#token=${encodeURIComponent(token)}`);
  await page.getByRole("button", { name: "Sign out" }).waitFor(WAIT);
  return page;
}

/** A shell job that prints a line, waits for a gate file in its workspace, then prints another. */
async function gatedJob(title: string) {
  const { job } = await fleet.service.jobs.create.mutate({
    title,
    engine: "shell",
    bodyMd: `echo first-line-of-${title}\nwhile [ ! -e gate ]; do sleep 0.1; done\necho second-line-of-${title}\n`,
  });
  return job;
}

async function waitForStage(jobId: string, stages: string[]): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const job = await fleet.service.jobs.get.query({ jobId });
    if (stages.includes(job.stage)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`job ${jobId} never reached ${stages.join("/")}`);
}

describe("sign-in", () => {
  it("takes the token from the URL fragment, keeps it for the tab and removes it from the address bar", async () => {
    const page = await signedIn(fleet.adminToken);
    expect(new URL(page.url()).hash).toBe("");
    expect(await page.getByTestId("role").textContent()).toContain("admin");
    expect(await page.evaluate(() => sessionStorage.getItem("gf.token"))).toBe(fleet.adminToken);
    await page.reload();
    await page.getByRole("button", { name: "Sign out" }).waitFor(WAIT);
    await page.getByText("Running now").waitFor(WAIT);
    await screenshot(page, "overview");
  });

  it("signs in with the form, refuses a bad token, and signs out", async () => {
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(fleet.url);
    await page.getByLabel("Token").fill("gf_not-a-real-token");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").filter({ hasText: "refused" }).waitFor(WAIT);
    await screenshot(page, "sign-in");
    await page.getByLabel("Token").fill(fleet.serviceToken);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByTestId("role").filter({ hasText: "service" }).waitFor(WAIT);
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByLabel("Token").waitFor(WAIT);
    expect(await page.evaluate(() => sessionStorage.getItem("gf.token"))).toBeNull();
  });
});

describe("layout", () => {
  it("follows a dark system theme and fits a phone's width", async () => {
    const context = await browser.newContext({ colorScheme: "dark", viewport: { width: 390, height: 844 } });
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(`${fleet.url}/#token=${encodeURIComponent(fleet.adminToken)}`);
    await page.getByText("Running now").waitFor(WAIT);
    const background = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
    expect(background).toBe("rgb(13, 17, 23)");
    // nothing wider than the screen but tables, which scroll inside themselves
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await screenshot(page, "overview-dark-phone");
  });
});

describe("live jobs", () => {
  it("shows a submitted job in the list and the overview without a reload, then its log and final stage", async () => {
    const list = await signedIn(fleet.adminToken, "/jobs");
    const overview = await signedIn(fleet.adminToken, "/");
    await overview.getByText("Running now").waitFor(WAIT);
    await list
      .getByText(/No jobs|Older/)
      .first()
      .waitFor(WAIT);

    const job = await gatedJob("live-row");
    // no reload: the rows come from the feed's push
    await list.getByTestId(`job-row-${job._id}`).waitFor(WAIT);
    await overview.getByRole("link", { name: "live-row" }).waitFor(WAIT);
    expect(Number(await overview.getByTestId("count-building").textContent())).toBeGreaterThanOrEqual(1);
    await screenshot(list, "jobs");
    await screenshot(overview, "overview-running");

    await list.getByRole("link", { name: "live-row" }).click();
    await list.getByTestId("log").getByText("first-line-of-live-row").waitFor(WAIT);
    expect(await list.getByTestId("log").getByText("second-line-of-live-row").count()).toBe(0);
    await fleet.openGate(job._id, "gate");
    await list.getByTestId("log").getByText("second-line-of-live-row").waitFor(WAIT);
    await list.getByTestId("job-stage").getByText("shipped").waitFor(WAIT);
    await list.getByTestId("timeline").getByText("completed").waitFor(WAIT);
    await list
      .getByText(/\bsuccess\b/)
      .first()
      .waitFor(WAIT);
    await screenshot(list, "job");
    // the list row changed stage too, without a reload
    await list.goBack();
    await list.locator(`[data-testid="job-row-${job._id}"][data-stage="shipped"]`).waitFor(WAIT);
    // and a text search finds it by its title, and only it
    const decoy = await gatedJob("decoy");
    await list.getByTestId(`job-row-${decoy._id}`).waitFor(WAIT);
    await list.getByLabel("Search title or key").fill("LIVE-ROW");
    await list.getByLabel("Search title or key").press("Enter");
    await list.waitForURL(/q=LIVE-ROW/, WAIT);
    await list.getByTestId(`job-row-${decoy._id}`).waitFor({ state: "detached", ...WAIT });
    expect(await list.getByTestId(`job-row-${job._id}`).count()).toBe(1);
    await fleet.service.jobs.cancel.mutate({ jobId: decoy._id });
  });

  it("cancels a running job and retries it from its page", async () => {
    const job = await gatedJob("to-cancel");
    await waitForStage(job._id, ["building"]);
    const page = await signedIn(fleet.adminToken, `/jobs/${job._id}`);
    await page.getByTestId("log").getByText("first-line-of-to-cancel").waitFor(WAIT);
    await page.getByRole("button", { name: "Cancel" }).click();
    await page.getByTestId("job-stage").getByText("cancelled").waitFor(WAIT);
    expect((await fleet.service.jobs.get.query({ jobId: job._id })).stage).toBe("cancelled");

    await page.getByRole("button", { name: "Retry" }).click();
    await page
      .getByTestId("job-stage")
      .getByText(/inbox|building/)
      .waitFor(WAIT);
    expect(["inbox", "building"]).toContain((await fleet.service.jobs.get.query({ jobId: job._id })).stage);
    await fleet.service.jobs.cancel.mutate({ jobId: job._id });
  });
});

describe("factories", () => {
  it("offers drain and insights to an admin token and not to a service token", async () => {
    const admin = await signedIn(fleet.adminToken, "/factories");
    await admin.getByTestId(`factory-${fleet.factoryId}`).getByRole("button", { name: "Drain" }).waitFor(WAIT);
    const service = await signedIn(fleet.serviceToken, "/factories");
    const row = service.getByTestId(`factory-${fleet.factoryId}`);
    await row.waitFor(WAIT);
    expect(await service.getByRole("button", { name: "Drain" }).count()).toBe(0);
    expect(await service.getByRole("link", { name: "Insights" }).count()).toBe(0);
    await admin.getByRole("link", { name: "Insights" }).click();
    await admin.getByText("Runs by result").waitFor(WAIT);
    await admin.getByText("success rate").waitFor(WAIT);
    await screenshot(admin, "insights");
    await screenshot(service, "factories-service");
  });

  it("shows a killed factory going stale", async () => {
    const page = await signedIn(fleet.adminToken, "/factories");
    const state = page.getByTestId(`factory-state-${fleet.factoryId}`);
    await state.filter({ hasText: "active" }).waitFor(WAIT);
    fleet.factory.kill("SIGKILL");
    await state.filter({ hasText: /stale|gone/ }).waitFor(WAIT);
    await screenshot(page, "factories-stale");
  });
});
