/**
 * The lock layer's LinkStateStore (src/lock/link-state.ts) over the hub's store: sealing
 * counters in the locks table (CountersRepo: blocks reserved durably before use), the active
 * link key in locks.link_key, a key waiting for its PAIR confirmation in meta. Every write is
 * committed (synchronous=FULL) before it returns, as the session requires.
 *
 * A confirmed key restarts both counter spaces (LocksRepo.setLinkKey): the lock starts
 * afresh on PAIR too, and a counter only has to be unique per key.
 */
import type { LinkKeys, LinkStateStore } from "../lock/link-state.js";
import type { Store } from "../store/index.js";

const PENDING_META = (lockId: string): string => `lock.pendingLinkKey:${lockId}`;

export class StoreLinkState implements LinkStateStore {
  /** Lock counters accepted in this turn of the event loop, committed together (group commit). */
  private pendingCounters = new Map<string, number>();
  private waiting: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  private scheduled = false;

  constructor(private readonly store: Store) {}

  reserveHubCounters(lockId: string, count: number): number {
    return this.store.counters.reserveHubCounters(lockId, count).first;
  }

  lastLockCounter(lockId: string): number {
    return this.store.counters.lastLockCounter(lockId) ?? 0;
  }

  /**
   * Durable before the promise resolves, as the session requires; the counters of every lock
   * answered in the same turn share one commit (one fsync instead of one per response).
   */
  saveLastLockCounter(lockId: string, counter: number): Promise<void> {
    this.pendingCounters.set(lockId, Math.max(counter, this.pendingCounters.get(lockId) ?? 0));
    const done = new Promise<void>((resolve, reject) => this.waiting.push({ resolve, reject }));
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flushCounters());
    }
    return done;
  }

  private flushCounters(): void {
    const counters = this.pendingCounters;
    const waiting = this.waiting;
    this.pendingCounters = new Map();
    this.waiting = [];
    this.scheduled = false;
    try {
      this.store.transaction(() => {
        for (const [lockId, counter] of counters) this.store.counters.acceptLockCounter(lockId, counter);
      });
      for (const w of waiting) w.resolve();
    } catch (e) {
      for (const w of waiting) w.reject(e);
    }
  }

  linkKeys(lockId: string): LinkKeys {
    const pending = this.store.meta.get(PENDING_META(lockId));
    return { active: this.store.locks.get(lockId)?.linkKey ?? null, pending: pending === undefined ? null : Buffer.from(pending, "hex") };
  }

  savePendingLinkKey(lockId: string, key: Buffer): void {
    this.store.meta.set(PENDING_META(lockId), key.toString("hex"));
  }

  confirmPendingLinkKey(lockId: string): void {
    const pending = this.store.meta.get(PENDING_META(lockId));
    if (pending === undefined) return;
    this.store.transaction(() => {
      this.store.locks.setLinkKey(lockId, Buffer.from(pending, "hex"));
      this.store.meta.delete(PENDING_META(lockId));
    });
  }

  discardPendingLinkKey(lockId: string): void {
    this.store.meta.delete(PENDING_META(lockId));
  }
}
