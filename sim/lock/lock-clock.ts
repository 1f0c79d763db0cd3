import type { Clock } from "../../src/shared/clock.js";

/** Where a lock's RTC restarts after a power loss: 2000-01-01T00:00:00Z, like many RTC chips. */
export const RTC_RESET_MS = Date.UTC(2000, 0, 1);

/**
 * The lock's own real-time clock: the injected base clock plus an offset, optionally
 * drifting (ppm), and lost on power loss. Never reads the wall clock itself.
 */
export class LockClock {
  private anchorBase: number;
  private anchorLock: number;
  private driftPpm: number;
  /** STATUS flag "clock not set": true from a power loss until SET_TIME. */
  notSet: boolean;

  constructor(
    private readonly base: Clock,
    opts: { driftPpm?: number; set?: boolean; offsetMs?: number } = {},
  ) {
    this.driftPpm = opts.driftPpm ?? 0;
    this.anchorBase = base.now();
    this.notSet = opts.set === false;
    // An unset RTC runs from its reset value, unless restored from a state file with its offset.
    this.anchorLock = opts.offsetMs !== undefined ? this.anchorBase + opts.offsetMs : this.notSet ? RTC_RESET_MS : this.anchorBase;
  }

  nowMs(): number {
    const elapsed = this.base.now() - this.anchorBase;
    return this.anchorLock + Math.round(elapsed * (1 + this.driftPpm / 1e6));
  }

  /** LLP time: uint32 seconds since the epoch. */
  nowSec(): number {
    return Math.max(0, Math.floor(this.nowMs() / 1000)) >>> 0;
  }

  /** SET_TIME. */
  set(sec: number): void {
    this.anchorBase = this.base.now();
    this.anchorLock = sec * 1000;
    this.notSet = false;
  }

  /** Power loss: the RTC restarts from its reset value. */
  lose(): void {
    this.anchorBase = this.base.now();
    this.anchorLock = RTC_RESET_MS;
    this.notSet = true;
  }

  /** The RTC jumps by `ms` (a glitch; it stays "set"). */
  jump(ms: number): void {
    this.anchorLock = this.nowMs() + ms;
    this.anchorBase = this.base.now();
  }

  setDrift(ppm: number): void {
    this.anchorLock = this.nowMs();
    this.anchorBase = this.base.now();
    this.driftPpm = ppm;
  }

  /** Lock time minus base time, for the state file. */
  offsetMs(): number {
    return this.nowMs() - this.base.now();
  }

  get drift(): number {
    return this.driftPpm;
  }
}
