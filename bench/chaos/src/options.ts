/** Every size and timing of a chaos run, per mode; `--seed`, `--no-sandbox` and `--jobs` override. */
export interface ChaosOptions {
  mode: "short" | "long";
  seed: number;
  sandbox: boolean;
  coordinators: number;
  factories: number;
  seatsPerFactory: number;
  /** At least this many jobs are submitted (a shape adds a few at a time). */
  jobs: number;
  /** Jobs are submitted over this window, so faults land while work is going on. */
  submitWindowMs: number;
  /** At least this many faults are injected (the injector goes on after the last job ended until then). */
  minFaults: number;
  /** Mean pause between two faults (drawn in [0.5, 1.5] × this). */
  faultEveryMs: number;
  /** The coordinators' lease TTL: short, so a stopped or killed factory's jobs come back quickly. */
  leaseTtl: string;
  leaseTtlMs: number;
  /** The whole run, set-up to clean-up; past it the harness stops and reports what it has. */
  deadlineMs: number;
}

const MODES = {
  short: {
    coordinators: 2,
    factories: 3,
    seatsPerFactory: 3,
    jobs: 60,
    submitWindowMs: 70_000,
    minFaults: 10,
    faultEveryMs: 3_500,
    deadlineMs: 4 * 60_000,
  },
  long: {
    coordinators: 3,
    factories: 6,
    seatsPerFactory: 3,
    jobs: 300,
    submitWindowMs: 300_000,
    minFaults: 40,
    faultEveryMs: 4_000,
    deadlineMs: 10 * 60_000,
  },
} as const;

export const USAGE = `usage: pnpm chaos [--short] [--seed N] [--no-sandbox] [--jobs N]
  --short        ~2 minutes: 60 jobs, 2 coordinators, 3 factories, >= 10 faults (CI)
  (default)      long: 300 jobs, 3 coordinators, 6 factories, >= 40 faults, 10 min deadline
  --seed N       replay a run (the seed is printed at start)
  --no-sandbox   run engines and gates without bubblewrap
  --jobs N       submit at least N jobs
`;

export function parseArgs(argv: string[]): ChaosOptions | "help" {
  let mode: "short" | "long" = "long";
  let seed = Math.floor(Math.random() * 2 ** 31);
  let sandbox = true;
  let jobs: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") continue;
    if (arg === "--short") mode = "short";
    else if (arg === "--long") mode = "long";
    else if (arg === "--no-sandbox") sandbox = false;
    else if (arg === "--seed" || arg === "--jobs") {
      const value = Number(argv[++i]);
      if (!Number.isInteger(value) || value < 0) throw new Error(`${arg} needs a non-negative integer`);
      if (arg === "--seed") seed = value;
      else jobs = value;
    } else if (arg === "--help" || arg === "-h") return "help";
    else throw new Error(`unknown argument ${arg}\n${USAGE}`);
  }
  const sizes = MODES[mode];
  return { mode, seed, sandbox, ...sizes, jobs: jobs ?? sizes.jobs, leaseTtl: "6s", leaseTtlMs: 6_000 };
}
