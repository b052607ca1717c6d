import type { JobCreateInput } from "@gigafactory/schema";
import type { Rng } from "./prng.js";

/** The stage a job must end in, decided by its shape when it is planned. */
export type Expected = "shipped" | "failed";

/** One job of the plan: what to create and where it must end. */
export interface PlannedJob {
  /** Index in the plan; the idempotency key is derived from it. */
  key: string;
  shape: string;
  input: Omit<JobCreateInput, "deps" | "parentId">;
  /** Keys of planned jobs this one depends on. */
  deps: string[];
  /** Key of the composite parent. */
  parent?: string;
  expected: Expected;
  /** Filled in once created. */
  jobId?: string;
}

/** A group is created together (deps and parents first) at one point of the submission window. */
export type Group = PlannedJob[];

const SHIPS = 10; // attempts for jobs that must ship: room for the faults that cost an attempt (lost leases)
const FAILS = 2;

const SHAPES = {
  plain: 4,
  sleeper: 3,
  chain: 2,
  fanIn: 1,
  anyOf: 1,
  locked: 2,
  composite: 1,
  verifyPass: 2,
  verifyFail: 1,
  flaky: 1,
  failing: 1,
} as const;
export type Shape = keyof typeof SHAPES;

/** Plans at least `count` jobs in groups, deterministically from `rng`. */
export function planWorkload(rng: Rng, count: number, seed: number): Group[] {
  const groups: Group[] = [];
  let n = 0;
  const job = (shape: string, input: Partial<PlannedJob["input"]>, more: Partial<PlannedJob> = {}): PlannedJob => {
    const key = `chaos-${seed}-${n++}`;
    return {
      key,
      shape,
      input: { title: `${shape} ${key}`, bodyMd: `chaos ${shape}\n`, timeoutMs: 120_000, ...input },
      deps: [],
      expected: "shipped",
      ...more,
    };
  };
  const sleep = () => `sleep 0.${rng.int(1, 9)}`;
  const ok = (shape: string, more: Partial<PlannedJob> = {}) =>
    job(shape, { command: `${sleep()}; echo ${shape} done`, maxAttempts: SHIPS }, more);
  const fail = (shape: string, more: Partial<PlannedJob> = {}) =>
    job(shape, { command: "echo failing on purpose; exit 3", maxAttempts: FAILS }, { expected: "failed", ...more });

  while (n < count) {
    const shape = rng.weighted(SHAPES);
    switch (shape) {
      case "plain":
        groups.push([job("plain", { command: `echo plain ${n}`, maxAttempts: SHIPS })]);
        break;
      case "sleeper":
        groups.push([job("sleeper", { command: `sleep ${rng.int(1, 3)}; echo slept`, maxAttempts: SHIPS })]);
        break;
      case "chain": {
        const length = rng.int(2, 4);
        const chain: PlannedJob[] = [ok("chain")];
        for (let i = 1; i < length; i++) chain.push(ok("chain", { deps: [chain[i - 1]?.key ?? ""] }));
        groups.push(chain);
        break;
      }
      case "fanIn": {
        const sources = Array.from({ length: rng.int(2, 4) }, () => ok("fan-in source"));
        groups.push([...sources, ok("fan-in sink", { deps: sources.map((each) => each.key) })]);
        break;
      }
      case "anyOf": {
        // depsMode any: one failing and one shipping dependency ship the dependent
        const bad = fail("any-of failing dep");
        const good = ok("any-of dep");
        const sink = ok("any-of sink", { deps: [bad.key, good.key] });
        sink.input = { ...sink.input, depsMode: "any" };
        groups.push([bad, good, sink]);
        break;
      }
      case "locked": {
        const lock = `chaos-lock-${rng.int(1, 3)}`;
        groups.push(
          Array.from({ length: rng.int(2, 3) }, () =>
            job("locked", { command: `${sleep()}; echo held ${lock}`, lock, maxAttempts: SHIPS }),
          ),
        );
        break;
      }
      case "composite": {
        const parent = job("composite parent", { kind: "composite", maxAttempts: SHIPS });
        const failing = rng.next() < 0.25;
        const children = Array.from({ length: rng.int(2, 3) }, () => ok("composite child", { parent: parent.key }));
        if (failing) children.push(fail("composite failing child", { parent: parent.key }));
        parent.expected = failing ? "failed" : "shipped";
        groups.push([parent, ...children]);
        break;
      }
      case "verifyPass":
        groups.push([
          job("verify pass", {
            command: `${sleep()}; echo built > out.txt`,
            verify: ["test -s out.txt", "grep -q built out.txt"],
            maxAttempts: SHIPS,
          }),
        ]);
        break;
      case "verifyFail": {
        // the gate always fails: failed after max attempts, and so is its dependent
        const gated = job(
          "verify fail",
          { command: "echo built > out.txt", verify: ["test -s out.txt", "test -e never-there"], maxAttempts: FAILS },
          { expected: "failed" },
        );
        groups.push([gated, ok("dependent of verify fail", { deps: [gated.key], expected: "failed" })]);
        break;
      }
      case "flaky":
        // fails about a third of its attempts; ten attempts make a final failure (1 in 59,049) out of question
        groups.push([
          job("flaky", {
            command: 'if [ $((RANDOM % 3)) -eq 0 ]; then echo flaked; exit 1; fi; echo "flaky ok"',
            maxAttempts: SHIPS,
          }),
        ]);
        break;
      case "failing": {
        const head = fail("failing");
        const next = ok("dependent of failing", { deps: [head.key], expected: "failed" });
        groups.push([head, next, ok("dependent of dependent", { deps: [next.key], expected: "failed" })]);
        break;
      }
    }
  }
  return groups;
}
