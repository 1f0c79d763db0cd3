/**
 * The lock worker's view of the store (LockTableStore) over the real repositories, and the
 * outbox for events. Lock events and their acknowledged seq commit in one transaction,
 * before the worker sends ACK_EVENTS (nothing is lost if the hub dies in between).
 */
import type { CredentialType } from "../../access/model.js";
import { keycardSecret, smartKeySecret, doorCodeSecret } from "../../access/desired.js";
import type { EventSink } from "../../cloud/events.js";
import type { SlotInfo } from "../../protocol/llp/commands.js";
import { isDiskFull, rideAlong, sameContent, type SlotRecord, type Store } from "../../store/index.js";
import type { Clock, TimerHandle } from "../../shared/clock.js";
import type { ContractEvent, SlotOwner } from "./lock-events.js";
import type { LockTableStore, SlotContent, SlotRow } from "./ports.js";
import type { SlotIndex } from "../desired/slot-index.js";

const toRow = (r: SlotRecord): SlotRow => ({
  kind: r.kind,
  slot: r.slot,
  desired: r.desired,
  appliedState: r.appliedState,
  applied: r.applied,
  inSync: r.inSync,
  lastError: r.lastError,
  attempts: r.attempts,
  updatedAt: r.updatedAt,
});

/** A row as it is once a pending confirmed write is recorded. */
function overlay(row: SlotRow | undefined, p: PendingApplied): SlotRow {
  const desired = row?.desired ?? null;
  const applied = p.content;
  const inSync =
    desired === null ? applied === null : applied !== null && applied.credentialId === desired.credentialId && sameContent(applied, desired);
  return {
    kind: p.kind,
    slot: p.slot,
    desired,
    appliedState: applied ? "held" : "empty",
    applied,
    inSync,
    lastError: null,
    attempts: 0,
    updatedAt: p.atMs,
  };
}

/**
 * How long, and how many, confirmed writes may wait to be recorded together (see markApplied).
 * Each flush is a commit that writes every page it touches whole, and a common door's writes
 * come in the order of arrival, not of slots: 256 of them touched ~290 pages of its table and
 * of the applied-credential index, and at full size these flushes were 40 % of the bytes a
 * snapshot wrote (docs/performance.md, seventh round). Five seconds and 2,048 writes: a page
 * is rewritten once per batch, and a lock's own table check records its writes at once
 * (recordWith), so no status waits on this; a crash loses only PUTs that are sent again.
 */
export const APPLIED_FLUSH_MS = 5000;
const APPLIED_FLUSH_MAX = 2048;
/** A flush that failed for lack of space is tried again this often. */
const DISK_FULL_RETRY_MS = 1000;

interface PendingApplied {
  lockId: string;
  kind: CredentialType;
  slot: number;
  content: SlotContent | null;
  /** When the lock confirmed it: recorded as the row's write time, whenever the flush comes. */
  atMs: number;
}

/** A table check not recorded yet. */
interface PendingVerified {
  lockId: string;
  kind: CredentialType;
  atMs: number;
}

interface PendingBatch {
  writes: PendingApplied[];
  verified: PendingVerified[];
}

const isEmpty = (batch: PendingBatch): boolean => batch.writes.length === 0 && batch.verified.length === 0;

interface PendingEventPage {
  lockId: string;
  events: ContractEvent[];
  uptoSeq: number;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * The hub's group-commit window for lock event pages: long enough that the pages of several
 * polled locks share a commit (each lock is polled every 2 s), short against the cloud's view.
 * Not longer: the lock's worker waits for the commit before ACK_EVENTS, and a remote unlock or
 * a firmware transfer queued for that lock waits with it (500 ms was tried: 1.1 instead of
 * 1.5 KB written per event, but two BLE firmware transfers no longer overlapped).
 */
export const EVENT_COMMIT_WINDOW_MS = 200;

export class StoreLockTables implements LockTableStore {
  /** Confirmed writes not recorded yet, by `${lockId}|${kind}|${slot}`. */
  private readonly pending = new Map<string, PendingApplied>();
  private flushTimer: TimerHandle | undefined;
  /** Table verifications not recorded yet, in the order they happened. */
  private pendingVerified: PendingVerified[] = [];

  constructor(
    private readonly store: Pick<
      Store,
      "credentials" | "keycards" | "lockFacts" | "locks" | "slots" | "transaction" | "relaxed" | "beforeCommit" | "afterRollback"
    >,
    private readonly events: EventSink,
    private readonly index: SlotIndex,
    private readonly clock: Clock,
    /** The group-commit window of lock event pages (commitLockEvents); 0: each page commits at once. */
    private readonly eventCommitWindowMs = 0,
  ) {
    rideAlong<PendingBatch>(store, {
      take: () => this.takeCarried(),
      write: (batch) => {
        this.writeBatch(batch);
        this.refreshIndex(batch);
      },
      giveBack: (batch) => {
        this.restore(batch);
        this.refreshIndex(batch);
      },
    });
  }

  /** Set while recordWith runs its function: the first commit in it carries this lock's pending writes. */
  private carrying: string | undefined;

  /**
   * Runs `tell` (which tells the engine about the lock's slots, and may commit the credential
   * events that follow from them) with the lock's pending confirmed writes and table checks
   * recorded in the first commit it makes, then records what of the lock's is still pending.
   * One commit for a table check's writes and its events where there were two: each rewrote
   * its pages whole (docs/performance.md, seventh round). Only this lock's: the other locks'
   * wait for their own check or the batch (a common door's table, written at every room's
   * check, was rewritten 17 times a second through a full-size snapshot). Reads through this
   * adapter see the writes meanwhile.
   */
  recordWith(lockId: string, tell: () => void): void {
    this.carrying = lockId;
    try {
      tell();
    } finally {
      this.carrying = undefined;
    }
    this.record(this.takePending(lockId));
  }

  /** What the commit that starts carries: the pending of the lock recordWith runs for, once. */
  private takeCarried(): PendingBatch | undefined {
    if (this.carrying === undefined) return undefined;
    const batch = this.takePending(this.carrying);
    this.carrying = undefined;
    return isEmpty(batch) ? undefined : batch;
  }

  /** Lock event pages waiting for their group commit, in the order they were drained. */
  private pendingEventPages: PendingEventPage[] = [];
  private eventTimer: NodeJS.Timeout | undefined;

  tablesVerifiedAt(lockId: string): Map<CredentialType, number> {
    const stored = this.store.lockFacts.tablesVerifiedAt(lockId);
    for (const v of this.pendingVerified) if (v.lockId === lockId) stored.set(v.kind, v.atMs);
    return stored;
  }

  /**
   * Recorded with the next batch of confirmed writes (the same relaxed commit, after them, so
   * a slot's write still comes before the verification that covers it), not as a commit of
   * its own: one per table check was the most frequent commit of a snapshot. Lost to a power
   * cut, the table is only checked again after the restart.
   */
  tableVerified(lockId: string, kind: CredentialType, atMs: number): void {
    this.pendingVerified.push({ lockId, kind, atMs });
    this.flushTimer ??= this.clock.setTimeout(() => this.flushFromTimer(), APPLIED_FLUSH_MS);
  }

  /**
   * The lock's rows as the store has them with the confirmed writes not recorded yet laid
   * over them: the worker reads its table after every write, and flushing here would cost a
   * durable commit per slot (the batching of markApplied would never batch).
   */
  slots(lockId: string, kind?: CredentialType): SlotRow[] {
    const rows = this.store.slots.forLock(lockId, kind).map(toRow);
    if (this.pending.size === 0) return rows;
    return rows.map((r) => {
      const p = this.pending.get(`${lockId}|${r.kind}|${r.slot}`);
      return p ? overlay(r, p) : r;
    });
  }

  slot(lockId: string, kind: CredentialType, slot: number): SlotRow | undefined {
    const r = this.store.slots.get(lockId, kind, slot);
    const p = this.pending.get(`${lockId}|${kind}|${slot}`);
    return p ? overlay(r ? toRow(r) : undefined, p) : r && toRow(r);
  }

  /**
   * What the lock confirmed (ACK of PUT/DELETE). Recorded within APPLIED_FLUSH_MS, many in
   * one transaction, rather than one durable commit per request: losing the last few to a
   * crash only means those idempotent requests are sent again (the slots are not in sync
   * after the restart). Reads through this adapter see them at once.
   */
  markApplied(lockId: string, kind: CredentialType, slot: number, content: SlotContent | null): void {
    this.pending.set(`${lockId}|${kind}|${slot}`, { lockId, kind, slot, content, atMs: this.clock.now() });
    // A deletion can end a revocation: recorded at once so statuses see it.
    if (content === null || this.pending.size >= APPLIED_FLUSH_MAX) this.flush();
    else this.flushTimer ??= this.clock.setTimeout(() => this.flushFromTimer(), APPLIED_FLUSH_MS);
  }

  /** The timer's flush: a full data disk must not end the hub (an exception in a timer would). */
  private flushFromTimer(): void {
    try {
      this.flush();
    } catch (e) {
      if (!isDiskFull(e)) throw e;
      // Kept by flush(); the worker reads them through the overlay meanwhile.
      this.flushTimer ??= this.clock.setTimeout(() => this.flushFromTimer(), DISK_FULL_RETRY_MS);
    }
  }

  /** Records the pending confirmed writes (also before any other write or a table read). */
  flush(): void {
    this.flushTimer?.cancel();
    this.flushTimer = undefined;
    this.record(this.takePending());
  }

  /**
   * Not fsynced (relaxed): a write lost to a power cut leaves its slot out of sync after the
   * restart, so it is sent again or TABLE_DIGEST finds it. Whatever is told outward durably
   * about it (credential events, a command's response) commits after it, FULL, and that fsync
   * of the WAL carries this commit too. Not recorded (a full disk): pending again.
   */
  private record(batch: PendingBatch): void {
    if (isEmpty(batch)) return;
    try {
      this.store.relaxed(() => this.writeBatch(batch));
    } catch (e) {
      this.restore(batch);
      throw e;
    }
    this.refreshIndex(batch);
  }

  /** Takes what waits to be recorded: all of it, or one lock's. */
  private takePending(lockId?: string): PendingBatch {
    if (lockId === undefined) {
      const batch = { writes: [...this.pending.values()], verified: this.pendingVerified };
      this.pending.clear();
      this.pendingVerified = [];
      return batch;
    }
    const writes: PendingApplied[] = [];
    for (const [k, w] of this.pending) {
      if (w.lockId !== lockId) continue;
      writes.push(w);
      this.pending.delete(k);
    }
    const verified = this.pendingVerified.filter((v) => v.lockId === lockId);
    if (verified.length > 0) this.pendingVerified = this.pendingVerified.filter((v) => v.lockId !== lockId);
    return { writes, verified };
  }

  private writeBatch({ writes, verified }: PendingBatch): void {
    for (const w of writes) this.store.slots.markApplied(w.lockId, w.kind, w.slot, w.content, w.atMs);
    for (const v of verified) this.store.lockFacts.setTableVerifiedAt(v.lockId, v.kind, v.atMs);
  }

  /**
   * Not recorded (the data disk is full): kept for the next flush, unless the lock has
   * confirmed a newer write to the same slot since.
   */
  private restore({ writes, verified }: PendingBatch): void {
    for (const w of writes) {
      const k = `${w.lockId}|${w.kind}|${w.slot}`;
      if (!this.pending.has(k)) this.pending.set(k, w);
    }
    this.pendingVerified = [...verified, ...this.pendingVerified];
  }

  private refreshIndex({ writes }: PendingBatch): void {
    for (const w of writes) this.index.refresh(w.lockId, w.kind, w.slot);
  }

  markFailed(lockId: string, kind: CredentialType, slot: number, reason: string, nextAttemptAt: number | null): void {
    this.flush();
    this.store.relaxed(() => this.store.slots.markFailed(lockId, kind, slot, reason, nextAttemptAt));
    this.index.refresh(lockId, kind, slot);
  }

  recordObserved(lockId: string, kind: CredentialType, firstSlot: number, count: number, observed: SlotInfo[]): void {
    this.flush();
    // What READ_SLOTS showed: read again after a power cut that lost it (relaxed).
    this.store.relaxed(() =>
      this.store.slots.recordObserved(
        lockId,
        kind,
        firstSlot,
        count,
        observed.map((o) => ({ ...o, secretDigest: Buffer.from(o.secretDigest) })),
      ),
    );
    this.index.refreshLock(lockId, kind);
  }

  resetApplied(lockId: string, state: "empty" | "unknown"): void {
    this.flush();
    this.store.slots.resetApplied(lockId, state);
    this.index.refreshLock(lockId);
  }

  secretOf(credentialId: number): Uint8Array | undefined {
    const c = this.store.credentials.get(credentialId);
    if (!c) return undefined;
    switch (c.kind) {
      case "doorCode":
        return doorCodeSecret(c.value);
      case "keycard":
        return keycardSecret(this.store.keycards.get(c.value)?.uid);
      case "smartKey":
        return smartKeySecret(c.value);
    }
  }

  ownerOf(credentialId: number): SlotOwner | undefined {
    const c = this.store.credentials.get(credentialId);
    return c && { keyId: c.keyId, credential: c.kind };
  }

  lastEventSeq(lockId: string): number {
    return this.store.locks.get(lockId)?.lastEventSeq ?? 0;
  }

  /**
   * Appends the events with the lock's acknowledged seq in one durable (FULL) commit; the
   * promise settles after that commit, so the worker's ACK_EVENTS still follows it. With a
   * group-commit window (`eventCommitWindowMs` > 0) the pages drained from every lock within
   * the window share that commit: one commit wrote ~20 KB for a page of one or two events
   * (docs/performance.md, third round). A hub that dies before the commit acknowledged
   * nothing: the locks keep those events and are read again. Without a window it commits at once.
   */
  commitLockEvents(lockId: string, events: ContractEvent[], uptoSeq: number): void | Promise<void> {
    if (this.eventCommitWindowMs <= 0) {
      this.commitEventPages([{ lockId, events, uptoSeq }]);
      return;
    }
    return new Promise<void>((resolve, reject) => {
      this.pendingEventPages.push({ lockId, events, uptoSeq, resolve, reject });
      // A real timer, not the injected clock: a wait for company in a commit, not domain time.
      this.eventTimer ??= setTimeout(() => this.flushEventPages(), this.eventCommitWindowMs);
    });
  }

  /** Commits the event pages waiting for the group commit now (the timer; a stop). */
  flushEventPages(): void {
    clearTimeout(this.eventTimer);
    this.eventTimer = undefined;
    const pages = this.pendingEventPages;
    if (pages.length === 0) return;
    this.pendingEventPages = [];
    try {
      this.commitEventPages(pages);
    } catch (e) {
      // Nothing committed: each worker sees its commit fail, sends no ACK_EVENTS, and reads the page again.
      for (const p of pages) p.reject(e);
      return;
    }
    for (const p of pages) p.resolve();
  }

  private commitEventPages(pages: readonly { lockId: string; events: ContractEvent[]; uptoSeq: number }[]): void {
    this.store.transaction(() => {
      for (const p of pages) {
        for (const e of p.events) this.events.emit(e);
        this.store.locks.setLastEventSeq(p.lockId, p.uptoSeq);
      }
    });
  }

  resetEventSeq(lockId: string): void {
    this.store.locks.resetLastEventSeq(lockId, 0);
  }

  appendEvents(events: ContractEvent[]): void {
    this.store.transaction(() => {
      for (const e of events) this.events.emit(e);
    });
  }
}
