/**
 * Many keyed deadlines behind ONE clock timer (window edges and at-risk checks of thousands
 * of keys): set(id, dueMs) replaces the id's deadline; the callback runs for every id due.
 */
import type { Clock, TimerHandle } from "../../shared/clock.js";
import { WorkQueue } from "../reconcile/work-queue.js";

export class Agenda {
  private readonly due = new WorkQueue<string>();
  private timer: TimerHandle | undefined;
  private timerAt: number | undefined;
  private stopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly onDue: (id: string) => void,
  ) {}

  set(id: string, dueMs: number | undefined): void {
    if (dueMs === undefined) this.due.remove(id);
    else this.due.push({ id, class: "maintenance", order: dueMs, payload: id });
    this.arm();
  }

  get size(): number {
    return this.due.size;
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
    this.due.clear();
  }

  private arm(): void {
    if (this.stopped) return;
    const next = this.due.peek()?.order;
    if (next === this.timerAt) return;
    this.timer?.cancel();
    this.timer = undefined;
    this.timerAt = next;
    if (next === undefined) return;
    // Node timers overflow past ~24.8 days: wake up earlier and re-arm.
    const delay = Math.min(Math.max(0, next - this.clock.now()), 2 ** 31 - 1);
    this.timer = this.clock.setTimeout(() => this.fire(), delay);
  }

  private fire(): void {
    this.timer = undefined;
    this.timerAt = undefined;
    const now = this.clock.now();
    for (let top = this.due.peek(); top && top.order <= now; top = this.due.peek()) {
      this.due.pop();
      this.onDue(top.id);
    }
    this.arm();
  }
}
