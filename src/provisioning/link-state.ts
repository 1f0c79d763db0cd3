/**
 * The lock layer's LinkStateStore for the hub: the store's (store.linkState: counters, link
 * keys, pending key, each durable before use), with one change: the lock counters accepted in
 * one turn of the event loop are committed together (group commit). Each save still resolves
 * only once it is durable, as the session requires; many locks answering at once cost one
 * fsync instead of one each.
 */
import type { LinkKeys, LinkStateStore } from "../lock/link-state.js";
import type { Store } from "../store/index.js";

export class StoreLinkState implements LinkStateStore {
  private pendingCounters = new Map<string, number>();
  private waiting: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  private scheduled = false;

  constructor(private readonly store: Store) {}

  reserveHubCounters(lockId: string, count: number): number {
    return this.store.linkState.reserveHubCounters(lockId, count);
  }

  lastLockCounter(lockId: string): number {
    return Math.max(this.store.linkState.lastLockCounter(lockId), this.pendingCounters.get(lockId) ?? 0);
  }

  saveLastLockCounter(lockId: string, counter: number): Promise<void> {
    this.pendingCounters.set(lockId, Math.max(counter, this.pendingCounters.get(lockId) ?? 0));
    const done = new Promise<void>((resolve, reject) => this.waiting.push({ resolve, reject }));
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.flushCounters();
      });
    }
    return done;
  }

  linkKeys(lockId: string): LinkKeys {
    return this.store.linkState.linkKeys(lockId);
  }

  savePendingLinkKey(lockId: string, key: Buffer): void {
    this.flushCounters();
    this.store.linkState.savePendingLinkKey(lockId, key);
  }

  confirmPendingLinkKey(lockId: string): void {
    // Counters of the old key must not land after the new key reset them.
    this.flushCounters();
    this.store.linkState.confirmPendingLinkKey(lockId);
  }

  discardPendingLinkKey(lockId: string): void {
    this.store.linkState.discardPendingLinkKey(lockId);
  }

  private flushCounters(): void {
    if (this.pendingCounters.size === 0 && this.waiting.length === 0) return;
    const counters = this.pendingCounters;
    const waiting = this.waiting;
    this.pendingCounters = new Map();
    this.waiting = [];
    try {
      this.store.transaction(() => {
        for (const [lockId, counter] of counters) this.store.linkState.saveLastLockCounter(lockId, counter);
      });
      for (const w of waiting) w.resolve();
    } catch (e) {
      for (const w of waiting) w.reject(e);
    }
  }
}
