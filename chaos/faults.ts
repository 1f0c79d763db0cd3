/**
 * The chaos run's faults, drawn from their own seeded generator (the kinds and their
 * durations do not depend on traffic timing). Each kind is counted in the report.
 *
 * Process faults: hub SIGKILL + restart, broker restart (1–5 s down), broker unreachable
 * without a restart (SIGSTOP for 2–10 s, then SIGCONT: connections hang, nothing is closed).
 * Lock faults (the simulator's control endpoint, `lockbridge sim fault`), on one room lock
 * not already under a timed fault: offline, flaky link (drop a share of frames), slow link
 * (each for 5–30 s, then `online`), full memory (5–30 s, then off), memory loss (every
 * credential table cleared, pairing kept) and a clock jump (±1 min to ±2 days).
 * No factory reset and no lock replacement.
 */
import { seededRandom } from "../src/shared/random.js";
import { ControlClient } from "../sim/control/client.js";
import type { Mosquitto } from "../test/helpers/mosquitto.js";

export const FAULT_KINDS = [
  ["hub SIGKILL+restart", 0.4],
  ["broker restart", 0.08],
  ["broker unreachable (SIGSTOP)", 0.08],
  ["lock offline", 0.08],
  ["lock flaky link", 0.08],
  ["lock slow link", 0.08],
  ["lock memory full", 0.07],
  ["lock memory loss", 0.07],
  ["lock clock jump", 0.06],
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number][0];

export interface FaultTargets {
  broker: Mosquitto;
  /** SIGKILLs the hub and starts it again (resolves once it logged "hub started"). */
  restartHub(downMs: number): Promise<void>;
  controlPort: number;
  rooms: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class FaultInjector {
  readonly counts: Record<string, number> = {};
  /** When the last fault ended (timed lock faults: when they were lifted). */
  lastFaultEndAt = Date.now();
  private readonly random: () => number;
  private readonly control: ControlClient;
  private readonly busy = new Set<string>();
  private readonly lifting = new Set<Promise<void>>();

  constructor(
    private readonly t: FaultTargets,
    seed: number,
    private readonly log: (line: string) => void,
  ) {
    this.random = seededRandom(seed);
    this.control = new ControlClient(t.controlPort);
  }

  /** Mean gap `everyMs`, until `endAt`. */
  async run(everyMs: number, endAt: number): Promise<void> {
    while (Date.now() < endAt) {
      await sleep(Math.min(everyMs / 2 + this.random() * everyMs, Math.max(0, endAt - Date.now())));
      if (Date.now() >= endAt) break;
      const kind = this.pick();
      try {
        await this.inject(kind);
        this.counts[kind] = (this.counts[kind] ?? 0) + 1;
        this.lastFaultEndAt = Math.max(this.lastFaultEndAt, Date.now());
      } catch (e) {
        this.log(`fault ${kind} not injected: ${e instanceof Error ? e.message : String(e)}`);
      }
      this.log(`fault ${JSON.stringify(this.counts)}`);
    }
  }

  /** Lifts every timed fault still on (waits for them). */
  async settle(): Promise<void> {
    await Promise.all([...this.lifting]);
  }

  private pick(): FaultKind {
    let r = this.random();
    for (const [kind, weight] of FAULT_KINDS) {
      if (r < weight) return kind;
      r -= weight;
    }
    return FAULT_KINDS[0][0];
  }

  private between(min: number, max: number): number {
    return min + this.random() * (max - min);
  }

  private async inject(kind: FaultKind): Promise<void> {
    const { broker } = this.t;
    switch (kind) {
      case "hub SIGKILL+restart":
        return this.t.restartHub(this.random() * 2_000);
      case "broker restart":
        await broker.stop();
        await sleep(this.between(1_000, 5_000));
        return broker.start();
      case "broker unreachable (SIGSTOP)":
        if (!broker.signal("SIGSTOP")) throw new Error("broker not running");
        await sleep(this.between(2_000, 10_000));
        broker.signal("SIGCONT");
        return;
      case "lock memory loss":
        return this.lockFault(["memory-loss"]);
      case "lock clock jump": {
        const s = Math.round(this.between(60, 2 * 86_400)) * (this.random() < 0.5 ? -1 : 1);
        return this.lockFault(["clock-jump", String(s)]);
      }
      case "lock offline":
        return this.lockFault(["offline"], ["online"]);
      case "lock flaky link":
        return this.lockFault(["flaky", this.between(0.1, 0.5).toFixed(2), "0", String(Math.floor(this.random() * 1e6))], ["online"]);
      case "lock slow link":
        return this.lockFault(["slow", String(Math.round(this.between(200, 2_000)))], ["online"]);
      case "lock memory full":
        return this.lockFault(["memory-full", "on"], ["memory-full", "off"]);
    }
  }

  /** Applies a lock fault; with `lift`, lifts it 5–30 s later (in the background). */
  private async lockFault(apply: string[], lift?: string[]): Promise<void> {
    const free = this.t.rooms.filter((r) => !this.busy.has(r));
    if (free.length === 0) throw new Error("every lock is under a timed fault");
    const room = free[Math.floor(this.random() * free.length)]!;
    const [fault, ...args] = apply;
    await this.control.act(room, "fault", { fault, args });
    if (!lift) return;
    this.busy.add(room);
    const ms = this.between(5_000, 30_000);
    const lifted = (async () => {
      await sleep(ms);
      const [f, ...a] = lift;
      await this.control.act(room, "fault", { fault: f, args: a }).catch((e: unknown) => this.log(`cannot lift ${fault} on ${room}: ${String(e)}`));
      this.busy.delete(room);
      this.lastFaultEndAt = Math.max(this.lastFaultEndAt, Date.now());
    })();
    this.lifting.add(lifted);
    void lifted.then(() => this.lifting.delete(lifted));
  }
}
