/**
 * What a lock's sealed link needs persisted, as the small interface the store implements
 * (src/store/ owns the SQLite side). Keyed by lockId (16 lower-case hex, as in IDENT).
 *
 * Durability contract: every method that writes must have made the value durable before
 * its promise resolves (or before it returns, when synchronous). The session relies on it:
 * a hub counter is used only after its block was persisted as reserved, and a link key is
 * stored as pending before PAIR is sent.
 */
export interface LinkKeys {
  /** The key the lock is known to hold. */
  active: Buffer | null;
  /** A key stored before PAIR was sent and not yet confirmed (the hub may have crashed in between). */
  pending: Buffer | null;
}

export interface LinkStateStore {
  /**
   * Reserve `count` fresh hub send counters for the lock and persist the reservation.
   * Returns the first; the counters first..first+count-1 are the caller's. Never returns
   * a counter returned before, across restarts (unused ones of a block are skipped).
   */
  reserveHubCounters(lockId: string, count: number): number | Promise<number>;
  /** The greatest lock send counter the hub has accepted (0 if none). */
  lastLockCounter(lockId: string): number | Promise<number>;
  saveLastLockCounter(lockId: string, counter: number): void | Promise<void>;
  linkKeys(lockId: string): LinkKeys | Promise<LinkKeys>;
  savePendingLinkKey(lockId: string, key: Buffer): void | Promise<void>;
  /**
   * pending -> active, and the last accepted lock counter back to 0 (a new key starts a new
   * counter space). The store may also restart the hub counters here; the session then takes
   * a fresh reservation for the new key.
   */
  confirmPendingLinkKey(lockId: string): void | Promise<void>;
  discardPendingLinkKey(lockId: string): void | Promise<void>;
}

interface LockLinkRecord {
  hubCounterNext: number;
  lastLockCounter: number;
  active: Buffer | null;
  pending: Buffer | null;
}

/**
 * In-memory LinkStateStore for tests, the simulator-driven benchmarks and tools that hold no store.
 * @internal
 */
export class MemoryLinkStateStore implements LinkStateStore {
  private readonly records = new Map<string, LockLinkRecord>();

  /** restartHubCountersOnPair: behave like a store that restarts the hub counter space at a new key. */
  constructor(private readonly opts: { restartHubCountersOnPair?: boolean } = {}) {}
  /** How many times counters were reserved (each is one durable write in a real store). */
  reservations = 0;

  private record(lockId: string): LockLinkRecord {
    let r = this.records.get(lockId);
    if (!r) {
      r = { hubCounterNext: 1, lastLockCounter: 0, active: null, pending: null };
      this.records.set(lockId, r);
    }
    return r;
  }

  reserveHubCounters(lockId: string, count: number): number {
    const r = this.record(lockId);
    const first = r.hubCounterNext;
    r.hubCounterNext += count;
    this.reservations++;
    return first;
  }
  lastLockCounter(lockId: string): number {
    return this.record(lockId).lastLockCounter;
  }
  saveLastLockCounter(lockId: string, counter: number): void {
    this.record(lockId).lastLockCounter = counter;
  }
  linkKeys(lockId: string): LinkKeys {
    const r = this.record(lockId);
    return { active: r.active, pending: r.pending };
  }
  savePendingLinkKey(lockId: string, key: Buffer): void {
    this.record(lockId).pending = Buffer.from(key);
  }
  confirmPendingLinkKey(lockId: string): void {
    const r = this.record(lockId);
    if (!r.pending) return;
    r.active = r.pending;
    r.pending = null;
    r.lastLockCounter = 0;
    if (this.opts.restartHubCountersOnPair) r.hubCounterNext = 1;
  }
  discardPendingLinkKey(lockId: string): void {
    this.record(lockId).pending = null;
  }
  /** Test helper: set an active key directly (a lock paired earlier). */
  setActiveLinkKey(lockId: string, key: Buffer): void {
    this.record(lockId).active = Buffer.from(key);
  }
}
