/**
 * Expectations on what a simulated lock receives over an InProcessLink, in the manner of
 * Z-Wave JS's MockNode (`expectRequest`, `assertReceived`): the test drives the hub side and
 * asks what reached the lock, in order, on a ManualClock. A wrapper, so SimLock and the
 * production lock layer carry no test-only members.
 */
import { Cmd, commandName, decodeFrame, type LlpCommandName } from "../../src/protocol/llp/index.js";
import type { ManualClock } from "../../src/shared/clock.js";
import type { SimLock } from "../../sim/index.js";
import type { InProcessLink, Tap } from "./lock-link.js";

export interface ReceivedRequest {
  cmd: LlpCommandName | "unknown";
  sealed: boolean;
  /** Manual clock time when the lock received it. */
  at: number;
  /** What went back: ACK, NAK, or nothing (offline, lost). */
  answer: "ACK" | "NAK" | null;
}

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

/**
 * Lets the hub side run while the manual clock moves in steps, until `check` holds. Throws
 * after `maxMs` of manual time (a step that never happens fails the test, it does not hang).
 */
export async function driveUntil(clock: ManualClock, check: () => boolean, opts: { stepMs?: number; maxMs?: number; what?: string } = {}): Promise<void> {
  const step = opts.stepMs ?? 10;
  for (let t = 0; ; t += step) {
    await flush();
    if (check()) return;
    if (t > (opts.maxMs ?? 60_000)) throw new Error(`${opts.what ?? "condition"}: still not true after ${t} ms of manual time`);
    clock.advance(step);
  }
}

/** Lets the hub side run for `ms` of manual time (timers fire as they fall due). */
export async function runFor(clock: ManualClock, ms: number, stepMs = 100): Promise<void> {
  const until = clock.now() + ms;
  await driveUntil(clock, () => clock.now() >= until, { stepMs, maxMs: ms + stepMs });
}

export class LockExpectations {
  /** Every request addressed to this lock, in arrival order (retries included). */
  readonly received: ReceivedRequest[] = [];
  /** A further tap for faults, applied after recording (lose or replace the lock's answer). */
  tap: Tap | undefined;

  constructor(
    readonly lock: SimLock,
    link: InProcessLink,
    private readonly clock: ManualClock,
  ) {
    const previous = link.tap;
    link.tap = (req, answer, raw) => {
      let out = previous ? previous(req, answer, raw) : answer;
      if (req.addr !== lock.address) return out;
      if (this.tap) out = this.tap(req, out, raw);
      const reply = out ? decodeFrame(out) : null;
      this.received.push({
        cmd: commandName(req.cmd) ?? "unknown",
        sealed: req.sec,
        at: clock.now(),
        answer: reply ? (reply.cmd === Cmd.ACK ? "ACK" : "NAK") : null,
      });
      return out;
    };
  }

  /** Command names received since the last clear(), in order. */
  commands(): (LlpCommandName | "unknown")[] {
    return this.received.map((r) => r.cmd);
  }

  count(cmd: LlpCommandName): number {
    return this.received.filter((r) => r.cmd === cmd).length;
  }

  clear(): void {
    this.received.length = 0;
  }

  /** Fails unless `cmd` was received (exactly `count` times when given) since the last clear(). */
  assertReceived(cmd: LlpCommandName, count?: number): void {
    const n = this.count(cmd);
    const ok = count === undefined ? n > 0 : n === count;
    if (!ok) throw new Error(`lock ${this.lock.lockId}: expected ${cmd} ${count === undefined ? "at least once" : `${count} time(s)`}, got ${n}; received: ${this.commands().join(", ") || "nothing"}`);
  }

  /**
   * Resolves with the next `cmd` the lock receives from now on, driving the manual clock;
   * fails after `timeoutMs` of manual time without it.
   */
  async expectRequest(cmd: LlpCommandName, timeoutMs: number, opts: { stepMs?: number } = {}): Promise<ReceivedRequest> {
    const from = this.received.length;
    const found = (): ReceivedRequest | undefined => this.received.slice(from).find((r) => r.cmd === cmd);
    await driveUntil(this.clock, () => found() !== undefined, { maxMs: timeoutMs, stepMs: opts.stepMs, what: `lock ${this.lock.lockId} expected ${cmd}` });
    return found()!;
  }
}
