import type { GigafactoryClient } from "@gigafactory/sdk";
import type { Rng } from "./prng.js";
import type { CoordinatorSlot, FactorySlot } from "./processes.js";

export type FaultKind = "factory-kill" | "factory-stop" | "factory-drain" | "coordinator-kill";

const WEIGHTS: Record<FaultKind, number> = {
  "factory-kill": 3,
  "factory-stop": 2,
  "factory-drain": 2,
  "coordinator-kill": 2,
};

export interface FaultRecord {
  kind: FaultKind;
  target: string;
  at: Date;
  /** What happened after the fault, e.g. the factory failed to come back. */
  note?: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Injects faults on a seeded schedule while `running()` says so. At most half the factories and one
 * coordinator are down at a time; the watcher's coordinator (slot 0) is never killed, so its
 * live feed has no gap to explain.
 */
export class FaultInjector {
  readonly faults: FaultRecord[] = [];
  private readonly busy = new Set<string>();
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly deps: {
      rng: Rng;
      factories: FactorySlot[];
      /** Coordinators that may be killed (not the watcher's). */
      killable: CoordinatorSlot[];
      admin: GigafactoryClient;
      leaseTtlMs: number;
      log: (line: string) => void;
    },
  ) {}

  count(kind: FaultKind): number {
    return this.faults.filter((fault) => fault.kind === kind).length;
  }

  /** Runs until `keepGoing()` is false; each fault's recovery goes on in the background. */
  async run(everyMs: number, keepGoing: () => boolean): Promise<void> {
    const { rng } = this.deps;
    let pause = Math.round(everyMs * (0.5 + rng.next()));
    while (keepGoing()) {
      await sleep(pause);
      if (!keepGoing()) break;
      const kind = rng.weighted(WEIGHTS);
      const task = this.inject(kind);
      // its target is busy (or too many are down): draw again shortly
      pause = task ? Math.round(everyMs * (0.5 + rng.next())) : 500;
      if (!task) continue;
      this.inFlight.add(task);
      void task.finally(() => this.inFlight.delete(task));
    }
  }

  /** Waits for every fault's recovery (restarts) to finish. */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  private inject(kind: FaultKind): Promise<void> | undefined {
    const { rng, factories, killable, leaseTtlMs } = this.deps;
    if (kind === "coordinator-kill") {
      const free = killable.filter((slot) => !this.busy.has(slot.name));
      if (free.length === 0 || killable.some((slot) => this.busy.has(slot.name))) return undefined;
      const slot = rng.pick(free);
      const downMs = rng.int(500, Math.floor(leaseTtlMs / 2));
      return this.hold(slot.name, kind, async (record) => {
        await slot.kill();
        await sleep(downMs);
        await slot.start();
        slot.restarts++;
        record.note = `down ${downMs} ms`;
      });
    }
    const downFactories = factories.filter((slot) => this.busy.has(slot.factoryId)).length;
    if (downFactories >= Math.floor(factories.length / 2)) return undefined;
    const slot = rng.pick(factories.filter((each) => !this.busy.has(each.factoryId)));
    if (kind === "factory-kill") {
      const downMs = rng.int(200, 2_000);
      return this.hold(slot.factoryId, kind, async (record) => {
        await slot.kill();
        await sleep(downMs);
        await this.restart(slot, record);
      });
    }
    if (kind === "factory-stop") {
      // stopped past its lease: another factory gets its jobs; on SIGCONT it must fence itself
      const stoppedMs = leaseTtlMs + rng.int(1_000, 4_000);
      return this.hold(slot.factoryId, kind, async (record) => {
        slot.signal("SIGSTOP");
        await sleep(stoppedMs);
        slot.signal("SIGCONT");
        record.note = `stopped ${stoppedMs} ms`;
        if (!slot.alive()) await this.restart(slot, record);
      });
    }
    return this.hold(slot.factoryId, kind, async (record) => {
      await this.deps.admin.trpc.admin.drain.mutate({ factoryId: slot.factoryId });
      await sleep(rng.int(500, 3_000));
      await slot.stop();
      await this.restart(slot, record);
    });
  }

  private async restart(slot: FactorySlot, record: FaultRecord): Promise<void> {
    const ready = await slot.start();
    slot.restarts++;
    if (!ready) {
      record.note = `${record.note ? `${record.note}; ` : ""}restart not ready in time`;
      this.deps.log(`fault: ${slot.factoryId} did not come back ready (see its log)`);
    }
  }

  private hold(target: string, kind: FaultKind, act: (record: FaultRecord) => Promise<void>): Promise<void> {
    const record: FaultRecord = { kind, target, at: new Date() };
    this.faults.push(record);
    this.busy.add(target);
    this.deps.log(`fault #${this.faults.length}: ${kind} ${target}`);
    return act(record)
      .catch((error: unknown) => {
        record.note = `recovery failed: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`;
        this.deps.log(`fault ${kind} ${target}: ${record.note}`);
      })
      .finally(() => this.busy.delete(target));
  }
}
