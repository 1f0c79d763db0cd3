/**
 * The core never reads the wall clock or starts timers directly: it is handed a Clock,
 * so access windows, retries and timeouts are testable with a manual clock.
 */
export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the Unix epoch (UTC). */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(t) };
  },
};

/** A clock that moves only when told to; timers fire in due order during advance(). */
export class ManualClock implements Clock {
  private current: number;
  private timers: { due: number; order: number; fn: () => void; live: boolean }[] = [];
  private order = 0;

  constructor(startMs: number = Date.UTC(2026, 11, 1, 12, 0, 0)) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer = { due: this.current + Math.max(0, ms), order: this.order++, fn, live: true };
    this.timers.push(timer);
    return { cancel: () => void (timer.live = false) };
  }

  /** Move time forward, firing every timer that falls due on the way. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      const next = this.timers
        .filter((t) => t.live && t.due <= target)
        .sort((a, b) => a.due - b.due || a.order - b.order)[0];
      if (!next) break;
      next.live = false;
      this.current = Math.max(this.current, next.due);
      next.fn();
    }
    this.timers = this.timers.filter((t) => t.live);
    this.current = target;
  }

  set(ms: number): void {
    if (ms < this.current) {
      this.current = ms;
      return;
    }
    this.advance(ms - this.current);
  }
}

export const sleep = (clock: Clock, ms: number): Promise<void> =>
  new Promise((resolve) => clock.setTimeout(resolve, ms));
