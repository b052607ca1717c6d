import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { appRouter } from "../src/trpc/router.js";
import type { TestClient } from "./support/client.js";
import { Harness, claimOne, createJob, fenceOf, registerFactory } from "./support/harness.js";

/**
 * Hostile input, generated from the procedures' own zod schemas: malformed, oversized and deeply
 * nested inputs go over real HTTP to a real coordinator with each kind of token. Every answer must
 * be a 4xx JSON error within a bound (a timed-out request fails), the process must stay up, and
 * nothing may be written. Inputs the schemas accept are discarded, so no procedure may write.
 * Bounded: RUNS per procedure, a fixed seed printed (set GF_FUZZ_SEED to replay one).
 */
const RUNS = 20;
const SEED = Number(process.env.GF_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
/** Each request's bound; a request that takes longer counts as a failure. */
const REQUEST_TIMEOUT_MS = 10_000;
/** Queries carry their input in the URL: keep it under Node's header limit (16 KiB). */
const MAX_URL_CHARS = 12_000;

type Role = "admin" | "service" | "factory";
interface ProcedureDef {
  type: "query" | "mutation" | "subscription";
  inputs: z.ZodType[];
}
interface Answer {
  status: number;
  contentType: string;
  body: string;
}

const procedures = Object.entries(appRouter._def.procedures as unknown as Record<string, { _def: ProcedureDef }>).map(
  ([path, procedure]) => ({ path, ...procedure._def }),
);
const transformer = (
  appRouter._def._config as unknown as {
    transformer: { input: { serialize(v: unknown): unknown; deserialize(v: unknown): unknown } };
  }
).transformer;

/** The top-level keys a schema names (through wrappers such as `.strict()`), to aim garbage at. */
function keysOf(schema: z.ZodType): string[] {
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

function nest(depth: number, leaf: unknown, asArray: boolean): unknown {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = asArray ? [value] : { a: value };
  return value;
}

/** Garbage for one procedure: generic values, its own keys holding the wrong things, huge and deep values. */
function inputs(keys: string[], viaUrl: boolean): fc.Arbitrary<unknown> {
  const big = viaUrl ? 3_000 : 300_000;
  const deep = viaUrl ? 1_000 : 1_000;
  const key = keys.length > 0 ? fc.oneof(fc.constantFrom(...keys), fc.string()) : fc.string();
  const junk = fc.anything({ maxDepth: 3, withBigInt: true, withDate: true, withMap: true, withSet: true });
  const huge = fc.oneof(
    fc.nat({ max: big }).map((n) => "x".repeat(n)),
    fc.nat({ max: big / 10 }).map((n) => Array.from({ length: n }, (_, i) => i)),
    fc.constantFrom(Number.MAX_VALUE, -1e308, Number.NaN, Number.POSITIVE_INFINITY, -0, 2 ** 53 + 2),
  );
  const deepValue = fc.tuple(fc.integer({ min: 50, max: deep }), junk, fc.boolean()).map(([d, l, a]) => nest(d, l, a));
  const value = fc.oneof(junk, huge, deepValue);
  return fc.oneof(
    value,
    fc.dictionary(key, value, { maxKeys: 6 }),
    // every key the schema names, each holding the wrong kind of thing
    fc.tuple(...keys.map(() => value)).map((values) => Object.fromEntries(keys.map((k, i) => [k, values[i]]))),
  );
}

/** Whether every input parser of the procedure accepts `value` as the server will see it. */
function accepted(parsers: z.ZodType[], value: unknown): boolean {
  try {
    return parsers.length === 0 || parsers.every((parser) => parser.safeParse(value).success);
  } catch {
    return false; // e.g. a stack overflow on a deep value: the server must refuse it too
  }
}

/** The input as the client sends it, or undefined when superjson refuses to serialize it. */
function wireOf(value: unknown): string | undefined {
  try {
    return JSON.stringify(transformer.input.serialize(value));
  } catch {
    return undefined;
  }
}

/** Whether the server would accept `wire`: its transformer refuses some inputs (references, depth) outright. */
function acceptedOnWire(parsers: z.ZodType[], wire: string): boolean {
  let value: unknown;
  try {
    value = transformer.input.deserialize(JSON.parse(wire));
  } catch {
    return false;
  }
  return accepted(parsers, value);
}

async function answer(url: string, init: RequestInit): Promise<Answer> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  return { status: res.status, contentType: res.headers.get("content-type") ?? "", body: await res.text() };
}

/**
 * A 4xx JSON error. A subscription over HTTP answers as server-sent events: then the stream must
 * have ended after one error event whose status is a 4xx.
 */
function isJsonError({ status, contentType, body }: Answer): boolean {
  if (contentType.includes("text/event-stream")) {
    const errors = body
      .split("\n\n")
      .filter((event) => /^event: serialized-error$/m.test(event))
      .map((event) => /^data: (.*)$/m.exec(event)?.[1] ?? "null");
    if (errors.length !== 1) return false;
    const httpStatus = (JSON.parse(errors[0] as string) as { json?: { data?: { httpStatus?: number } } })?.json?.data
      ?.httpStatus;
    return typeof httpStatus === "number" && httpStatus >= 400 && httpStatus <= 499;
  }
  if (status < 400 || status > 499 || !contentType.includes("application/json")) return false;
  try {
    JSON.parse(body);
    return true;
  } catch {
    return false;
  }
}

const describeAnswer = (a: Answer) => `${a.status} ${a.contentType} ${a.body.slice(0, 300)}`;

describe("fuzz: hostile input to every procedure and HTTP route", () => {
  let h: Harness;
  const tokens = {} as Record<Role, string>;
  let fence: { jobId: string; epoch: number; factoryId: string };
  let before: unknown;

  /** Every collection's documents, to prove that nothing was written. */
  const snapshot = async () => {
    const all: Record<string, unknown[]> = {};
    for (const name of Object.keys(await h.counts()))
      all[name] = await h.db.collection(name).find({}).sort({ _id: 1 }).toArray();
    return { counts: await h.counts(), all };
  };

  beforeAll(async () => {
    console.info(`fuzz seed ${SEED} (replay with GF_FUZZ_SEED=${SEED})`);
    // nothing expires while the fuzz runs: the reaper must not write either
    h = await Harness.start("fuzz", { env: { GF_LEASE_TTL: "1h", GF_FACTORY_GONE_AFTER: "1h" } });
    tokens.admin = h.coordinator.adminToken;
    tokens.service = await h.token("service");
    tokens.factory = await h.token("factory");
    const factory: TestClient = h.client(tokens.factory);
    const service: TestClient = h.client(tokens.service);
    const factoryId = await registerFactory(factory);
    await createJob(service);
    await createJob(service);
    fence = fenceOf(await claimOne(factory, factoryId), factoryId);
    before = await snapshot();
  });
  afterAll(() => h?.close());

  it("covers every procedure of the router", () => {
    expect(procedures.length).toBeGreaterThan(20);
    expect(procedures.filter((p) => p.inputs.length === 0).map((p) => p.path)).toEqual([]);
  });

  it.each(procedures.map((p) => [p.path, p] as const))(
    "%s answers garbage with a 4xx JSON error",
    {
      timeout: 120_000,
    },
    async (path, procedure) => {
      const viaUrl = procedure.type !== "mutation";
      const keys = procedure.inputs.flatMap(keysOf);
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom<Role>("admin", "service", "factory"),
          inputs(keys, viaUrl),
          async (role, value) => {
            const wire = wireOf(value);
            // superjson itself refuses some values (keys such as `prototype` on a typed value): no
            // client can send them; hand-written bodies with them are in the raw-body test below
            if (wire === undefined) return fc.pre(false);
            // judged as the server will see it, after the wire
            fc.pre(!acceptedOnWire(procedure.inputs, wire));
            const headers = { authorization: `Bearer ${tokens[role]}`, "content-type": "application/json" };
            let url = `${h.url}/${path}`;
            if (viaUrl) {
              url += `?input=${encodeURIComponent(wire)}`;
              fc.pre(url.length <= MAX_URL_CHARS);
            }
            const a = viaUrl
              ? await answer(url, { headers: { ...headers, accept: "application/json" } })
              : await answer(url, { method: "POST", headers, body: wire });
            if (!isJsonError(a)) throw new Error(`${path} as ${role}: ${describeAnswer(a)}`);
          },
        ),
        { numRuns: RUNS, seed: SEED, endOnFailure: true },
      );
    },
  );

  it("raw garbage bodies to tRPC and the artifact routes are 4xx JSON errors", { timeout: 120_000 }, async () => {
    const mutation = procedures.find((p) => p.type === "mutation")?.path ?? "jobs.create";
    const bodies = fc.oneof(
      fc.string({ maxLength: 2_000 }),
      fc.uint8Array({ maxLength: 4_000 }).map((bytes) => Buffer.from(bytes).toString("latin1")),
      fc.constantFrom(
        "",
        "{",
        "null",
        '{"json":{"a":1},"meta":{"values":{"a":["bogus"]}}}',
        '{"json":[],"meta":{"referentialEqualities":{"0":["1.2.3"]}}}',
        // paths superjson refuses as prototype pollution
        '{"json":{"prototype":"1"},"meta":{"values":{"prototype":["bigint"]}}}',
        '{"json":{"a":{"constructor":{"prototype":"1"}}},"meta":{"values":{"a.constructor.prototype":["bigint"]}}}',
        '{"json":{"__proto__":{"x":"1"}},"meta":{"values":{"__proto__.x":["bigint"]}}}',
        `${"[".repeat(100_000)}${"]".repeat(100_000)}`,
        `{"json":${'{"a":'.repeat(20_000)}1${"}".repeat(20_000)}}`,
      ),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<Role>("admin", "service", "factory"),
        bodies,
        fc.dictionary(fc.constantFrom("jobId", "epoch", "factoryId", "runId", "name", "batch"), fc.string(), {
          maxKeys: 6,
        }),
        fc.string({ maxLength: 200 }),
        async (role, body, params, segment) => {
          const auth = { authorization: `Bearer ${tokens[role]}`, "content-type": "application/json" };
          const query = new URLSearchParams(params).toString();
          const fenced = new URLSearchParams({ ...params, factoryId: fence.factoryId, jobId: fence.jobId });
          const requests: Array<[string, RequestInit]> = [
            [`${h.url}/${mutation}?${query}`, { method: "POST", headers: auth, body }],
            [`${h.url}/${mutation},${mutation}?batch=1`, { method: "POST", headers: auth, body }],
            [`${h.url}/artifacts?${query}`, { method: "PUT", headers: auth, body }],
            // a real fence's job and factory with garbage around it: still no artifact
            [`${h.url}/artifacts?${fenced}`, { method: "PUT", headers: auth, body }],
            [`${h.url}/artifacts/${encodeURIComponent(segment)}/content`, { headers: auth }],
          ];
          for (const [url, init] of requests) {
            const a = await answer(url, init);
            if (!isJsonError(a))
              throw new Error(`${init.method ?? "GET"} ${url.slice(0, 200)} as ${role}: ${describeAnswer(a)}`);
          }
        },
      ),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
  });

  it("the coordinator is still up, and nothing was written", async () => {
    const health = await answer(`${h.url}/healthz`, {});
    expect(health.status).toBe(200);
    expect(await snapshot()).toEqual(before);
  });
});
