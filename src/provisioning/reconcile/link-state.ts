/**
 * The lock layer's LinkStateStore for the hub: the store's (store.linkState: counters, link
 * keys, pending key, each durable before use), with one change: the last lock counter
 * accepted is written with the store's next commit (store.beforeCommit), or within
 * COUNTER_FLUSH_MS when nothing else commits, instead of one fsync per sealed answer.
 *
 * Why that keeps the replay rule (LLP §4, §9.3): the counter floor matters after a restart
 * only for answers whose effect the hub recorded (a slot applied, events acknowledged); every
 * such effect is committed in a store transaction, and the counters accepted before it are
 * written in that same transaction. An answer whose effect was never committed leaves nothing
 * a replay could make the hub believe. The session keeps the exact floor in memory meanwhile.
 * (Before: one durable commit per sealed answer, 80 % of the hub's commit time and most of its
 * disk writes in the Pi benchmark: docs/performance.md.)
 */
import type { LinkKeys, LinkStateStore } from "../../lock/link-state.js";
import { isDiskFull, isDiskIoError, rideAlong, type Store } from "../../store/index.js";

/** When nothing else commits (a quiet property being polled), counters are written this often. */
export const COUNTER_FLUSH_MS = 5000;

export class StoreLinkState implements LinkStateStore {
  private pending = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private readonly detach: () => void;

  constructor(private readonly store: Store) {
    // Handed to the next commit; taken back if it rolls back (else a replay could pass).
    this.detach = rideAlong<Map<string, number>>(store, {
      take: () => this.takePending(),
      write: (counters) => {
        for (const [lockId, counter] of counters) this.store.linkState.saveLastLockCounter(lockId, counter);
      },
      giveBack: (counters) => this.takeBack(counters),
    });
  }

  reserveHubCounters(lockId: string, count: number): number {
    return this.store.linkState.reserveHubCounters(lockId, count);
  }

  lastLockCounter(lockId: string): number {
    return Math.max(this.store.linkState.lastLockCounter(lockId), this.pending.get(lockId) ?? 0);
  }

  saveLastLockCounter(lockId: string, counter: number): void {
    this.pending.set(lockId, Math.max(counter, this.pending.get(lockId) ?? 0));
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      try {
        this.flushCounters();
      } catch (e) {
        // The data disk is full (SQLITE_FULL, or on a disk that has just filled "disk I/O
        // error"): the rollback hook took the counters back; tried again later (an exception
        // here, in a timer, would end the hub: the chaos run's 8 exits on a full disk).
        if (!isDiskFull(e) && !isDiskIoError(e)) throw e;
        this.scheduleFlush();
      }
    }, COUNTER_FLUSH_MS).unref();
  }

  linkKeys(lockId: string): LinkKeys {
    return this.store.linkState.linkKeys(lockId);
  }

  savePendingLinkKey(lockId: string, key: Buffer): void {
    this.store.linkState.savePendingLinkKey(lockId, key);
  }

  confirmPendingLinkKey(lockId: string): void {
    // The old key's counters must never land after the new key reset them: drop them.
    this.pending.delete(lockId);
    this.store.linkState.confirmPendingLinkKey(lockId);
  }

  discardPendingLinkKey(lockId: string): void {
    this.store.linkState.discardPendingLinkKey(lockId);
  }

  /** Writes the counters accepted so far now (the timer; a clean stop). */
  flushCounters(): void {
    if (this.pending.size === 0 || this.store.closed) return;
    this.store.transaction(() => undefined); // the commit hook writes them
  }

  /** Flushes and detaches from the store. */
  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.flushCounters();
    this.detach();
  }

  private takePending(): Map<string, number> | undefined {
    if (this.pending.size === 0) return undefined;
    const counters = this.pending;
    this.pending = new Map();
    return counters;
  }

  /** The commit that carried the counters rolled back: they are pending again (never lower). */
  private takeBack(counters: Map<string, number>): void {
    for (const [lockId, counter] of counters) this.pending.set(lockId, Math.max(counter, this.pending.get(lockId) ?? 0));
    if (this.pending.size > 0) this.scheduleFlush();
  }
}
