/**
 * The desired state as the hub keeps it: key lifecycles, each key's desired slot rows
 * (desired.ts) re-derived in the caller's transaction, the door code index used for
 * allocation, the door and lock-record caches and the credentials no slot was found for.
 *
 * Every copy kept here follows the store: the caches are dropped and the indexes rebuilt
 * from the store when a transaction rolls back, and the keys re-derived inside it are
 * derived again. What a derivation changed is told through `DerivedPorts` after it (the
 * fleet wakes the lock workers, the change bus tells the status publisher, the agendas
 * schedule the key): this class knows nothing of locks in service.
 */
import { DoorCodeIndex, type CodeUsage } from "../../access/codes.js";
import type { KeyLifecycle } from "../../access/key-activation.js";
import type { CredentialType, Door, Key } from "../../access/model.js";
import { usableSlots } from "../../profiles/identity.js";
import type { StatusSink } from "../../shared/change-bus.js";
import type { Clock } from "../../shared/clock.js";
import type { LockRecord, SlotRecord, Store } from "../../store/index.js";
import { syncKeyDesired, type DesiredContext } from "./desired.js";
import type { SlotIndex } from "./slot-index.js";

/** The store repositories the desired state reads and writes. */
export type DesiredStore = Pick<Store, "afterRollback" | "beforeCommit" | "credentials" | "doors" | "keyFacts" | "keycards" | "keys" | "locks" | "site" | "slots" | "transaction">;

type Unplaced = "lock_memory_full" | "not_supported";

/** Who hears of a derivation, after it. */
export interface DerivedPorts {
  /** The lock's desired table changed: its worker has work. */
  wakeLock(lockId: string): void;
  status: StatusSink;
  /** The key's window edges and at-risk check are due again. */
  scheduleKey(keyId: string): void;
}

export interface DesiredStateDeps {
  store: DesiredStore;
  clock: Clock;
  /** The slot rows by credential; the lock tables refresh it after their writes too. */
  index: SlotIndex;
  derived: DerivedPorts;
}

export class DesiredState {
  private readonly store: DesiredStore;
  private readonly clock: Clock;
  private readonly derived: DerivedPorts;
  /** credentialId -> slot rows (the store's lookup by credential scans the whole table). */
  private readonly index: SlotIndex;
  private readonly codes = new DoorCodeIndex();
  /** Credentials the store found no slot for: lockId -> credentialId -> reason. */
  private readonly unplaced = new Map<string, Map<number, Unplaced>>();
  private doorCache: Map<string, Door> | undefined;
  private readonly lockCache = new Map<string, LockRecord | null>();
  private retryingUnplaced = false;
  /** Keys re-derived in the outermost transaction under way: done again if it rolls back. */
  private readonly touchedInTransaction = new Set<string>();
  private rebuilding = false;
  private resyncSeq = 0;
  private readonly resynced = new Map<string, number>();
  /** Keys whose re-derivation waits for the end of a batch (a snapshot), in the order first asked. */
  private batch: Set<string> | undefined;

  constructor(deps: DesiredStateDeps) {
    this.store = deps.store;
    this.clock = deps.clock;
    this.derived = deps.derived;
    this.index = deps.index;
    // Copies of the store kept here must never disagree with it after a rollback.
    deps.store.beforeCommit(() => {
      this.touchedInTransaction.clear();
      // A batch is closed inside its own transaction. One still open when the next begins was
      // left by a transaction that committed without closing it: derive what it collected
      // now (in this transaction) rather than never.
      if (this.batch) this.endBatch();
    });
    deps.store.afterRollback(() => this.rebuildAfterRollback());
  }

  /** Indexes the store's slot rows and door codes, then re-derives every key (hub start). */
  load(): void {
    this.index.rebuild(this.store.locks.list().map((l) => l.lockId));
    this.rebuildCodeIndex();
    this.resyncKeys(this.store.keys.ids({ includeRemoved: true }));
  }

  // ------------------------------------------------------------------ doors and locks

  /** The doors by id (cached; doorsChanged() drops the cache). */
  doors(): Map<string, Door> {
    if (!this.doorCache) this.doorCache = new Map(this.store.doors.list().map((d) => [d.doorId, d]));
    return this.doorCache;
  }

  /** A door or its links changed (door.upsert/remove, snapshot): keys reaching it are re-derived by the caller. */
  doorsChanged(): void {
    this.doorCache = undefined;
  }

  /** The lock's store record, cached (JSON columns are parsed once); forgetLock() after writing it. */
  lockRecord(lockId: string): LockRecord | undefined {
    if (!this.lockCache.has(lockId)) this.lockCache.set(lockId, this.store.locks.get(lockId) ?? null);
    return this.lockCache.get(lockId) ?? undefined;
  }

  /** The lock's record was written: the next read comes from the store. */
  forgetLock(lockId: string): void {
    this.lockCache.delete(lockId);
  }

  /** Every slot row of the lock was written (commissioning resets them): the index reads them again. */
  lockSlotsRewritten(lockId: string): void {
    this.index.refreshLock(lockId);
  }

  /** The lock and its slot table left the store (decommission). */
  lockRemoved(lockId: string): void {
    this.forgetLock(lockId);
    this.index.dropLock(lockId);
  }

  isCommissioned(lockId: string): boolean {
    return this.lockRecord(lockId)?.state === "commissioned";
  }

  /** Slot count of a kind from the lock's last IDENT (0: unknown or lacking). */
  slotCount(lockId: string, kind: CredentialType): number {
    const ident = this.lockRecord(lockId)?.ident;
    return ident ? usableSlots(ident, kind) : 0;
  }

  /** The code length range of a lock (IDENT), for code allocation. */
  codeRange(lockId: string): { codeMinLen: number; codeMaxLen: number } | undefined {
    const ident = this.lockRecord(lockId)?.ident;
    if (!ident) return undefined;
    return { codeMinLen: ident.codeMinLen, codeMaxLen: ident.codeMaxLen };
  }

  /** The slot rows that desire or hold the credential. */
  slotRows(credentialId: number): SlotRecord[] {
    return this.index.rows(credentialId);
  }

  /** Credentials the store found no slot for: lockId -> credentialId -> reason. */
  unplacedCredentials(): ReadonlyMap<string, ReadonlyMap<number, Unplaced>> {
    return this.unplaced;
  }

  // ------------------------------------------------------------------ keys

  lifecycle(keyId: string): KeyLifecycle {
    const key = this.store.keys.get(keyId);
    return { checkedOut: key !== undefined && this.store.keyFacts.checkedOut(keyId), removed: key?.removedAt != null };
  }

  /** The lifecycle of a key record already read. */
  lifecycleOf(key: Pick<Key, "keyId"> & { removedAt?: number | null }): KeyLifecycle {
    return { checkedOut: this.store.keyFacts.checkedOut(key.keyId), removed: key.removedAt != null };
  }

  setLifecycle(keyId: string, lifecycle: KeyLifecycle): void {
    // `removed` is the key's removedAt: only the check-out is the hub's own fact.
    this.store.keyFacts.setCheckedOut(keyId, lifecycle.checkedOut);
  }

  /** Every live key that reaches one of these doors (directly or through a linked room). */
  keysReachingDoors(doorIds: Iterable<string>): Set<string> {
    const out = new Set<string>();
    for (const doorId of doorIds) {
      for (const k of this.store.keys.idsByDoor(doorId)) out.add(k);
      for (const room of this.store.doors.roomsLinkedTo(doorId)) for (const k of this.store.keys.idsByDoor(room)) out.add(k);
    }
    return out;
  }

  /** Every key with an entry reaching the lock's doors, or a credential on the lock. */
  keysOnLock(lockId: string): Set<string> {
    const out = this.keysReachingDoors(this.store.doors.byLock(lockId).map((d) => d.doorId));
    for (const row of this.store.slots.forLock(lockId)) {
      for (const id of [row.desired?.credentialId, row.applied?.credentialId]) {
        if (id === undefined || id === null) continue;
        const c = this.store.credentials.get(id);
        if (c) out.add(c.keyId);
      }
    }
    return out;
  }

  // ------------------------------------------------------------------ door codes

  /** Records the key's current code on every door it may reach (linked doors included, flag or not). */
  indexKeyCode(keyId: string): void {
    const key = this.store.keys.get(keyId);
    if (!key) {
      this.codes.removeKey(keyId);
      return;
    }
    this.indexCodeOf(key, this.store.credentials.currentOf(keyId, "doorCode")?.value);
  }

  /** indexKeyCode for a key record and current code the caller has just read or decided. */
  indexCodeOf(key: Pick<Key, "keyId" | "doors"> & { removedAt: number | null }, code: string | undefined): void {
    this.codes.removeKey(key.keyId);
    if (code === undefined || key.removedAt !== null) return;
    for (const doorId of codeDoors(key, this.doors())) this.codes.add(doorId, code, key.keyId);
  }

  /** The codes held per door by every key but this one, for allocation. */
  codesExcept(keyId: string): CodeUsage {
    return this.codes.except(keyId);
  }

  private rebuildCodeIndex(): void {
    for (const keyId of this.store.keys.ids()) this.indexKeyCode(keyId);
  }

  // ------------------------------------------------------------------ re-derivation

  /**
   * Re-derives the desired slot rows of these keys (one transaction, nested in the caller's
   * if any), then wakes the workers of the locks concerned and marks the statuses changed.
   */
  resyncKeys(keyIds: Iterable<string>): void {
    const idSet = new Set(keyIds);
    const ids = [...idSet];
    if (ids.length === 0) return;
    for (const id of ids) {
      this.resynced.set(id, ++this.resyncSeq);
      this.touchedInTransaction.add(id);
    }
    if (this.batch) {
      // Derived once at the batch's end, in the same transaction: a key asked again meanwhile
      // is derived once, from the state the batch left.
      for (const id of ids) this.batch.add(id);
      return;
    }
    const changedLocks = new Set<string>();
    this.store.transaction(() => {
      const ctx = this.desiredContext();
      for (const keyId of ids) {
        this.forgetUnplaced(keyId);
        const out = syncKeyDesired(keyId, ctx);
        for (const l of out.changedLocks) changedLocks.add(l);
        for (const [lockId, creds] of out.unplaced) {
          const m = this.unplaced.get(lockId) ?? new Map<number, Unplaced>();
          for (const [c, why] of creds) m.set(c, why);
          this.unplaced.set(lockId, m);
        }
      }
    });
    for (const lockId of changedLocks) {
      this.derived.wakeLock(lockId);
      this.derived.status.lockChanged(lockId);
    }
    for (const keyId of ids) {
      this.derived.status.keyChanged(keyId);
      this.derived.scheduleKey(keyId);
    }
    // A slot freed on a full lock: credentials that found none may fit now.
    const waiting = new Set<string>();
    for (const lockId of changedLocks) {
      for (const credentialId of this.unplaced.get(lockId)?.keys() ?? []) {
        const keyId = this.store.credentials.get(credentialId)?.keyId;
        if (keyId !== undefined && !idSet.has(keyId)) waiting.add(keyId);
      }
    }
    if (waiting.size > 0 && !this.retryingUnplaced) {
      this.retryingUnplaced = true;
      try {
        this.resyncKeys(waiting);
      } finally {
        this.retryingUnplaced = false;
      }
    }
  }

  /**
   * Opens a batch (a snapshot's keys): until endBatch(), resyncKeys() only collects the keys;
   * endBatch() derives them all in one pass, so each lock concerned is woken and told once
   * and the per-call work (a savepoint, the context, the wake-ups) is paid once, not per key.
   * Must be closed inside the same transaction; a rollback drops it (the keys the transaction
   * touched are derived again from the store, as without a batch).
   */
  beginBatch(): void {
    this.batch ??= new Set();
  }

  /** Closes the batch and derives the keys it collected. */
  endBatch(): void {
    const keys = this.batch;
    this.batch = undefined;
    if (keys && keys.size > 0) this.resyncKeys(keys);
  }

  /** A mark to ask later which keys were not re-derived since (resyncKeysNotSince). */
  resyncMark(): number {
    return this.resyncSeq;
  }

  /** Re-derives the keys (of `keyIds`) not re-derived since `mark`. */
  resyncKeysNotSince(mark: number, keyIds: Iterable<string>): void {
    const stale = [...keyIds].filter((k) => (this.resynced.get(k) ?? 0) <= mark);
    for (const k of stale) this.indexKeyCode(k);
    this.resyncKeys(stale);
  }

  /**
   * The store rolled back a transaction (a refused command, a full disk): every copy kept
   * here is rebuilt from the store as it is now (slot index, door code index, caches), and
   * the keys re-derived inside it are derived again (their unplaced credentials).
   */
  private rebuildAfterRollback(): void {
    if (this.rebuilding) return; // a failure while rebuilding is logged by the store, not chased
    this.rebuilding = true;
    // A batch open in the transaction that rolled back is over: nothing of it is derived.
    this.batch = undefined;
    try {
      const touched = [...this.touchedInTransaction];
      this.touchedInTransaction.clear();
      this.doorCache = undefined;
      this.lockCache.clear();
      this.index.rebuild(this.store.locks.list().map((l) => l.lockId));
      this.codes.clear();
      this.rebuildCodeIndex();
      for (const [lockId, m] of this.unplaced) {
        for (const id of [...m.keys()]) if (this.store.credentials.get(id) === undefined) m.delete(id);
        if (m.size === 0) this.unplaced.delete(lockId);
      }
      if (touched.length > 0) this.resyncKeys(touched);
    } finally {
      this.rebuilding = false;
    }
  }

  private desiredContext(): DesiredContext {
    return {
      store: this.store,
      index: this.index,
      site: this.store.site.get(),
      doors: this.doors(),
      nowMs: this.clock.now(),
      lifecycle: (key) => this.lifecycleOf(key),
      isCommissioned: (lockId) => this.isCommissioned(lockId),
      slotCount: (lockId, kind) => this.slotCount(lockId, kind),
    };
  }

  private forgetUnplaced(keyId: string): void {
    if (this.unplaced.size === 0) return;
    const ids = this.store.credentials.history(keyId).map((c) => c.credentialId);
    for (const [lockId, m] of this.unplaced) {
      for (const id of ids) m.delete(id);
      if (m.size === 0) this.unplaced.delete(lockId);
    }
  }
}

/** Doors a key's code must be unique on: its rooms and every common door linked to them. */
export function codeDoors(key: Pick<Key, "doors">, doors: ReadonlyMap<string, Door>): string[] {
  const out = new Set<string>();
  for (const e of key.doors) {
    out.add(e.doorId);
    for (const l of doors.get(e.doorId)?.linkedDoorIds ?? []) out.add(l);
  }
  return [...out];
}
