import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Harness, poll } from "./support/harness.js";

// Issue 10: no request rate limit. A tiny limit (1 call per second, bursts of 5) through the
// environment: a burst over it is refused with 429, per token, and the token works again later.
describe("rate limits", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.start("rate-limits", { env: { GF_RATE_LIMIT: "1", GF_RATE_BURST: "5" } });
  });
  afterAll(() => h?.close());

  const call = (token: string) =>
    fetch(`${h.url}/jobs.list?input=${encodeURIComponent(JSON.stringify({ json: {} }))}`, {
      headers: { authorization: `Bearer ${token}` },
    });
  const download = (token: string) =>
    fetch(`${h.url}/artifacts/art_doesnotexist`, { headers: { authorization: `Bearer ${token}` } });

  it("answers a burst over the limit with 429 and a clear message; the token works again after a while", {
    timeout: 120_000,
  }, async () => {
    const token = await h.token("service");
    const other = await h.token("service");
    const burst = await Promise.all(Array.from({ length: 30 }, () => call(token)));
    const statuses = burst.map((res) => res.status);
    expect(statuses.filter((status) => status === 200).length).toBeGreaterThan(0);
    const refused = burst.filter((res) => res.status === 429);
    expect(refused.length).toBeGreaterThan(0);
    expect(JSON.stringify(await refused[0]?.json())).toMatch(
      /rate limit: a service token may make 1 requests per second/,
    );
    expect(new Set(statuses)).toEqual(new Set([200, 429]));

    // the plain HTTP routes take from the same bucket
    const downloads = await Promise.all(Array.from({ length: 10 }, () => download(token)));
    const limited = downloads.filter((res) => res.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(JSON.stringify(await limited[0]?.json())).toMatch(/rate limit/);

    // per token: another token of the same role is not throttled
    expect((await call(other)).status).toBe(200);

    // bounded poll: the bucket refills
    await poll(async () => (await call(token)).status === 200, {
      what: "the throttled token to work again",
      tries: 300,
      everyMs: 200,
    });
  });
});
