/**
 * Who may transfer firmware now (issue 15, "Scheduling"): one transfer at a time per serial
 * or TCP bus, so the other locks of a shared RS-485 bus keep their credential changes and
 * events flowing between two chunks; a configurable number per BLE adapter; as many buses in
 * parallel as there are. Waiters are served first come, first served.
 */
import type { LockLink } from "../access/model.js";

/** The shared medium a lock's link runs over. */
export function busKeyOf(link: LockLink): string {
  switch (link.type) {
    case "serial":
      return `serial:${link.path}`;
    case "tcp":
      return `tcp:${link.host}:${link.port}`;
    case "ble":
      return "ble"; // one adapter (or one BLE proxy) per hub
  }
}

export interface BusSlotOptions {
  /** Concurrent transfers per BLE adapter. Default 1. */
  blePerAdapter?: number;
}

export class BusSlots {
  private readonly busy = new Map<string, number>();
  private readonly waiting = new Map<string, (() => void)[]>();
  private readonly bleCap: number;

  constructor(options: BusSlotOptions = {}) {
    this.bleCap = Math.max(1, Math.floor(options.blePerAdapter ?? 1));
  }

  capOf(bus: string): number {
    return bus === "ble" ? this.bleCap : 1;
  }

  /** Transfers running on `bus` now. */
  inUse(bus: string): number {
    return this.busy.get(bus) ?? 0;
  }

  /** Resolves with the release function once `bus` has room; `signal` abandons the wait. */
  acquire(bus: string, signal?: AbortSignal): Promise<() => void> {
    return new Promise((resolve, reject) => {
      const grant = (): void => {
        this.busy.set(bus, this.inUse(bus) + 1);
        let released = false;
        resolve(() => {
          if (released) return;
          released = true;
          this.busy.set(bus, this.inUse(bus) - 1);
          this.next(bus);
        });
      };
      if (this.inUse(bus) < this.capOf(bus)) return grant();
      const queue = this.waiting.get(bus) ?? [];
      queue.push(grant);
      this.waiting.set(bus, queue);
      signal?.addEventListener("abort", () => {
        const i = queue.indexOf(grant);
        if (i >= 0) {
          queue.splice(i, 1);
          reject(signal.reason instanceof Error ? signal.reason : new Error("aborted"));
        }
      }, { once: true });
    });
  }

  private next(bus: string): void {
    const queue = this.waiting.get(bus);
    if (!queue || queue.length === 0 || this.inUse(bus) >= this.capOf(bus)) return;
    queue.shift()!();
  }
}
