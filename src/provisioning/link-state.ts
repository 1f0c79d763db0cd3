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
  constructor(private readonly store: Store) {}

  reserveHubCounters(lockId: string, count: number): number {
    return this.store.counters.reserveHubCounters(lockId, count).first;
  }

  lastLockCounter(lockId: string): number {
    return this.store.counters.lastLockCounter(lockId) ?? 0;
  }

  saveLastLockCounter(lockId: string, counter: number): void {
    this.store.counters.acceptLockCounter(lockId, counter);
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
