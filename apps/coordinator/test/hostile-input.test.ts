import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Harness } from "./support/harness.js";

/** A superjson body whose references double the graph at each level: `levels` levels of 2 paths. */
function referenceBomb(levels: number): { json: unknown; meta: unknown } {
  // a chain of objects, each holding the next twice; references make every pair one object
  let json: Record<string, unknown> = { x: "boom" };
  for (let i = 0; i < levels; i++) json = { a: json, b: null };
  const equalities: Record<string, string[]> = {};
  let path = "manifest";
  for (let i = 0; i < levels; i++) {
    equalities[`${path}.a`] = [`${path}.b`];
    path = `${path}.a`;
  }
  return { json: { bodyMd: "x", manifest: json }, meta: { referentialEqualities: equalities } };
}

/** The message of a tRPC error answer (superjson-encoded: `{ error: { json: { message } } }`). */
async function messageOf(response: Response): Promise<string> {
  const body = (await response.json()) as { error: { json: { message: string } } };
  return body.error.json.message;
}

describe("hostile input over HTTP", () => {
  let h: Harness;
  let serviceToken: string;
  beforeAll(async () => {
    h = await Harness.start("hostile-input");
    serviceToken = await h.token("service");
  });
  afterAll(() => h?.close());

  const post = (path: string, body: unknown, query = "") =>
    fetch(`${h.url}/${path}${query}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${serviceToken}` },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });

  it("refuses superjson references with 400 and writes nothing", async () => {
    const before = await h.counts();
    const body = referenceBomb(30);
    expect(JSON.stringify(body).length).toBeLessThan(4_000);
    const response = await post("jobs.create", body);
    expect(response.status).toBe(400);
    expect(await messageOf(response)).toMatch(/references/);
    // the coordinator still answers, and nothing was written
    expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
    expect(await h.counts()).toEqual(before);
  });

  it("refuses an input nested deeper than the bound with 400", async () => {
    const before = await h.counts();
    const deep = `${"[".repeat(10_000)}"x"${"]".repeat(10_000)}`;
    const response = await post("jobs.create", `{"json":{"bodyMd":"x","manifest":${deep}}}`);
    expect(response.status).toBe(400);
    expect(await messageOf(response)).toMatch(/nests deeper/);
    expect(await h.counts()).toEqual(before);
  });

  it("still takes a normal input, repeated objects included (the client drops the references)", async () => {
    const shared = { k: "v" };
    const client = await h.as("service");
    const { job } = await client.trpc.jobs.create.mutate({
      bodyMd: "x",
      manifest: { one: shared, two: shared },
    } as never);
    expect(job._id).toBeTruthy();
  });
});
