import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";

/** How a run ended as this factory saw it: the completion's result, or why it stopped first. */
export type RunOutcome =
  | "success"
  | "failure"
  | "timeout"
  | "cancelled"
  | "released"
  | "fenced"
  | "expired"
  | "killed"
  | "error";

/**
 * One factory's Prometheus metrics, on a registry of its own, served by `--metrics-addr`. Labels
 * come only from bounded sets (engine, result, outcome, seat state); never a job or run id.
 */
export class FactoryMetrics {
  readonly registry = new Registry();
  private readonly runs: Counter<"engine" | "result">;
  private readonly renewals: Counter<"outcome">;
  private readonly leasesLost: Counter;
  private readonly fenced: Counter;

  /** `seats`: the seat limit and the jobs running now, read at each scrape. */
  constructor(seats: () => { limit: number; used: number }) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: "gigafactory_factory_seats",
      help: "This factory's seats: used (jobs running) and free",
      labelNames: ["state"],
      registers,
      collect() {
        const { limit, used } = seats();
        this.set({ state: "used" }, used);
        this.set({ state: "free" }, Math.max(0, limit - used));
      },
    });
    this.runs = new Counter({
      name: "gigafactory_factory_runs_total",
      help: "Runs this factory ended, by engine and result (or why it stopped before completing)",
      labelNames: ["engine", "result"],
      registers,
    });
    this.renewals = new Counter({
      name: "gigafactory_factory_lease_renewals_total",
      help: "Lease renewals sent, by outcome (ok, failed)",
      labelNames: ["outcome"],
      registers,
    });
    this.leasesLost = new Counter({
      name: "gigafactory_factory_leases_lost_total",
      help: "Leases this factory gave up because no renewal got through before the deadline",
      registers,
    });
    this.fenced = new Counter({
      name: "gigafactory_factory_writes_fenced_total",
      help: "Writes the coordinator refused as FENCED (a newer lease holds the job)",
      registers,
    });
  }

  runFinished(engine: string, result: RunOutcome): void {
    this.runs.inc({ engine, result });
  }

  renewal(ok: boolean): void {
    this.renewals.inc({ outcome: ok ? "ok" : "failed" });
  }

  leaseLost(): void {
    this.leasesLost.inc();
  }

  writeFenced(): void {
    this.fenced.inc();
  }
}
