/**
 * The provisioning engine: keeps every commissioned lock's credential table equal to what
 * the desired state (site, doors, keys, keycards) asks for, and tells the cloud the truth
 * about every door (docs/provisioning.md).
 *
 * - Desired side: a key change re-derives that key's slot rows (desired.ts) in the caller's
 *   transaction; window edges re-derive keys on a timer (a window that ends takes the
 *   credential off the lock, a window that starts turns `inactive` into `active`).
 * - Lock side: one LockWorker per commissioned lock applies, verifies and repairs.
 * - Status: key status = the access rules' deriveKeyStatus over facts the engine knows
 *   (lock online/commissioned, per credential verified/pending/failed/present); a change is
 *   told on the change bus, which the cloud's status publisher follows (it debounces).
 * - key.at_risk: one agenda timer per key at (arrival - atRiskMinutes), assessed with the
 *   access rules; reported once per (key, arrival), before the arrival.
 *
 * Time only comes from the injected Clock.
 *
 * Parts with one job each live beside it behind narrow ports: statuses (status-model.ts), the
 * key agendas (key-agendas.ts), what lock workers report (lock-reports.ts).
 *
 * Over 400 lines (about 590): the desired-state re-derivation and the fleet of workers still share
 * this class's caches (slot index, door cache, unplaced credentials); splitting them needs
 * those caches rebuilt from the store after commit first (issue 11, what is left).
 */
import { DoorCodeIndex } from "../access/codes.js";
import type { KeyLifecycle } from "../access/key-activation.js";
import type { CredentialType, Door, Key } from "../access/model.js";
import type { CredentialFact } from "../access/status.js";
import type { EventSink, HubEventInput } from "../cloud/events.js";
import { usableSlots } from "../profiles/identity.js";
import type { LockRecord, Store } from "../store/index.js";
import type { Clock } from "../shared/clock.js";
import { LockBridgeError } from "../shared/errors.js";
import type { Logger } from "../shared/logger.js";
import { KeyAgendas } from "./key-agendas.js";
import { LockReports } from "./lock-reports.js";
import type { BackoffPolicy } from "../shared/backoff.js";
import type { ClockPolicy } from "./clock-policy.js";
import { syncKeyDesired, type DesiredContext } from "./desired.js";
import type { ContractEvent } from "./lock-events.js";
import { LockWorker } from "./worker/index.js";
import type { LockLinkPort } from "./ports.js";
import { noteBatteryLow } from "./battery.js";
import { isPairingLost } from "./pairing-lost.js";
import { SecurityAlerts } from "./security-alerts.js";
import { HeldEvents } from "./held-events.js";
import { SlotIndex } from "./slot-index.js";
import { StoreLockTables } from "./store-adapter.js";
import { formatInstant } from "../shared/instant.js";
import { failureReason } from "./reasons.js";
import { StatusModel } from "./status-model.js";

/** A lock's link as the engine holds it while the lock is in service. */
export interface LockLinkHandle {
  readonly port: LockLinkPort;
  onOnlineChange(listener: (online: boolean) => void): () => void;
  onEventNotify(listener: (eventHead: number) => void): () => void;
  /** Unsealed frames where sealed ones are due, replayed counters (LLP v1.1 §9.4). */
  onSuspicious(listener: (kind: "unsealed" | "replay") => void): () => void;
  /** STATUS poll period (the profile's poll interval on serial; a safety net on TCP/BLE). */
  readonly pollIntervalMs: number;
  /** After the link's first open attempt: why it cannot be opened, or undefined. */
  linkFailure?(): Promise<string | undefined>;
  close(): Promise<void>;
}

/** Opens links to locks (src/lock sessions over the right bus). */
export interface LockLinks {
  open(lock: LockRecord): Promise<LockLinkHandle>;
}

/** The cloud's retained-status publisher: called on every change, it debounces. */
import type { StatusSink } from "../shared/change-bus.js";
export type { StatusSink };

export type { DoorCodeUnavailable, LockStatusPayload } from "./status-model.js";

export interface EngineOptions {
  /** How often each lock's tables are verified with TABLE_DIGEST while nothing else happens (changes behind the hub's back). */
  verifyIntervalMs?: number;
  /** Delay before a key changed inside its at-risk horizon is judged (lets provisioning run first). */
  atRiskGraceMs?: number;
  backoff?: BackoffPolicy;
  clockPolicy?: ClockPolicy;
  random?: () => number;
  /** Link error counters of a lock's bus (lock status `linkErrors`). */
  linkErrorsOf?: (lockId: string) => { timeouts: number; crcErrors: number; retries: number } | undefined;
}

export interface EngineDeps {
  store: Store;
  clock: Clock;
  log: Logger;
  events: EventSink;
  status: StatusSink;
  links: LockLinks;
  options?: EngineOptions;
}

interface LockEntry {
  worker: LockWorker;
  handle: LockLinkHandle;
  unsubscribe: (() => void)[];
}


export class ProvisioningEngine {
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly events: EventSink;
  private readonly status: StatusSink;
  private readonly links: LockLinks;
  private readonly options: EngineOptions;
  private readonly tables: StoreLockTables;
  /** credentialId -> slot rows (the store's lookup by credential scans the whole table). */
  readonly index: SlotIndex;
  private readonly locks = new Map<string, LockEntry>();
  private readonly online = new Map<string, boolean>();
  /** Credentials the store found no slot for: lockId -> credentialId -> reason. */
  private readonly unplaced = new Map<string, Map<number, "lock_memory_full" | "not_supported">>();
  /** Last published fact per `${lockId}|${credentialId}`, for credential.provisioned/failed. */
  private readonly lastFacts = new Map<string, CredentialFact["state"] | "failed">();
  /** Window edges and at-risk checks of every key. */
  private readonly agendas: KeyAgendas;
  /** What the lock workers report, recorded (lock-reports.ts). */
  readonly reports: LockReports;
  readonly codes = new DoorCodeIndex();
  /** lock.security_alert, rate-limited and kept per lock (LLP v1.1 §9.4). */
  readonly alerts: SecurityAlerts;
  private doorCache: Map<string, Door> | undefined;
  private started = false;
  /** Key and lock statuses, derived on demand (status-model.ts). */
  readonly statuses: StatusModel;
  /** Events waiting for space on a full data disk. */
  private readonly held: HeldEvents;

  constructor(deps: EngineDeps) {
    this.store = deps.store;
    this.clock = deps.clock;
    this.log = deps.log;
    this.events = deps.events;
    this.status = deps.status;
    this.links = deps.links;
    this.options = deps.options ?? {};
    this.index = new SlotIndex(deps.store);
    this.held = new HeldEvents(
      (events) =>
        deps.store.transaction(() => {
          for (const e of events) this.events.emit(noteBatteryLow(this.store, e));
        }),
      deps.clock,
      deps.log,
    );
    // Copies of the store kept here must never disagree with it after a rollback.
    deps.store.beforeCommit(() => this.touchedInTransaction.clear());
    deps.store.afterRollback(() => this.rebuildAfterRollback());
    this.tables = new StoreLockTables(deps.store, deps.events, this.index, deps.clock);
    this.alerts = new SecurityAlerts(deps.store, () => deps.clock.now(), (e) => this.emit([{ ...e }]), (lockId) => this.doorOf(lockId));
    this.statuses = new StatusModel({
      store: deps.store,
      clock: deps.clock,
      index: this.index,
      alerts: this.alerts,
      doors: () => this.doors(),
      lifecycleOf: (key) => this.lifecycleOf(key),
      lockRecord: (lockId) => this.lockRecord(lockId),
      slotCount: (lockId, kind) => this.slotCount(lockId, kind),
      unplaced: () => this.unplaced,
      live: (lockId) => {
        const worker = this.locks.get(lockId)?.worker;
        const online = this.online.get(lockId);
        if (!worker) return online === undefined ? undefined : { online, replaced: false, isVerified: () => false };
        return { online, replaced: worker.isReplaced, isVerified: (row) => worker.isVerified(row) };
      },
      linkErrorsOf: this.options.linkErrorsOf,
    });
    this.reports = new LockReports({
      store: deps.store,
      clock: deps.clock,
      log: deps.log,
      status: deps.status,
      alerts: this.alerts,
      online: (lockId) => this.online.get(lockId),
      setOnline: (lockId, online) => void this.online.set(lockId, online),
      lockRecord: (lockId) => this.lockRecord(lockId),
      forgetLock: (lockId) => this.forgetLock(lockId),
      emit: (events) => this.emit(events),
      doorOf: (lockId) => this.doorOf(lockId),
      resyncKeys: (keyIds) => this.resyncKeys(keyIds),
      keysOnLock: (lockId) => this.keysOnLock(lockId),
      scheduleKey: (keyId) => this.agendas.schedule(keyId),
    });
    this.agendas = new KeyAgendas({
      store: deps.store,
      clock: deps.clock,
      log: deps.log,
      doors: () => this.doors(),
      keyStatus: (keyId) => this.statuses.keyStatus(keyId),
      resyncKeys: (keyIds) => this.resyncKeys(keyIds),
      emit: (events) => this.emit(events),
      atRiskGraceMs: this.options.atRiskGraceMs,
    });
  }

  now(): number {
    return this.clock.now();
  }

  // ------------------------------------------------------------------ lifecycle

  /** Re-derives every key's desired rows, then brings every commissioned lock into service. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.index.rebuild(this.store.locks.list().map((l) => l.lockId));
    this.rebuildCodeIndex();
    this.resyncKeys(this.store.keys.ids({ includeRemoved: true }));
    for (const lock of this.store.locks.list()) {
      // A lock reported replaced is still probed sealed: the report is a hint (LLP v1.1 §9.1).
      if (lock.state !== "commissioned" && lock.state !== "replaced") continue;
      await this.openLock(lock, { trustStored: true });
    }
  }

  async stop(): Promise<void> {
    this.started = false;
    this.agendas.stop();
    this.held.stop();
    const entries = [...this.locks.values()];
    this.locks.clear();
    await Promise.all(entries.map((e) => this.closeEntry(e)));
    this.tables.flush();
  }

  // ------------------------------------------------------------------ desired state

  /** The doors by id (cached; doorsChanged() drops the cache). */
  doors(): Map<string, Door> {
    if (!this.doorCache) this.doorCache = new Map(this.store.doors.list().map((d) => [d.doorId, d]));
    return this.doorCache;
  }

  /** A door or its links changed (door.upsert/remove, snapshot): keys reaching it are re-derived by the caller. */
  doorsChanged(): void {
    this.doorCache = undefined;
  }

  lifecycle(keyId: string): KeyLifecycle {
    const key = this.store.keys.get(keyId);
    return { checkedOut: key !== undefined && this.store.keyFacts.checkedOut(keyId), removed: key?.removedAt != null };
  }

  setLifecycle(keyId: string, lifecycle: KeyLifecycle): void {
    // `removed` is the key's removedAt: only the check-out is the hub's own fact.
    this.store.keyFacts.setCheckedOut(keyId, lifecycle.checkedOut);
  }

  /**
   * Re-derives the desired slot rows of these keys (one transaction, nested in the caller's
   * if any), wakes the workers of the locks concerned and marks the statuses changed.
   */
  resyncKeys(keyIds: Iterable<string>): void {
    const ids = [...new Set(keyIds)];
    if (ids.length === 0) return;
    for (const id of ids) {
      this.resynced.set(id, ++this.resyncSeq);
      this.touchedInTransaction.add(id);
    }
    const changedLocks = new Set<string>();
    this.store.transaction(() => {
      const ctx = this.desiredContext();
      for (const keyId of ids) {
        this.forgetUnplaced(keyId);
        const out = syncKeyDesired(keyId, ctx);
        for (const l of out.changedLocks) changedLocks.add(l);
        for (const [lockId, creds] of out.unplaced) {
          const m = this.unplaced.get(lockId) ?? new Map<number, "lock_memory_full" | "not_supported">();
          for (const [c, why] of creds) m.set(c, why);
          this.unplaced.set(lockId, m);
        }
      }
    });
    for (const lockId of changedLocks) {
      this.locks.get(lockId)?.worker.desiredChanged();
      this.status.lockChanged(lockId);
    }
    for (const keyId of ids) {
      this.status.keyChanged(keyId);
      this.agendas.schedule(keyId);
    }
    // A slot freed on a full lock: credentials that found none may fit now.
    const waiting = new Set<string>();
    for (const lockId of changedLocks) {
      for (const credentialId of this.unplaced.get(lockId)?.keys() ?? []) {
        const keyId = this.store.credentials.get(credentialId)?.keyId;
        if (keyId !== undefined && !ids.includes(keyId)) waiting.add(keyId);
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

  private retryingUnplaced = false;
  /** Keys re-derived in the outermost transaction under way: done again if it rolls back. */
  private readonly touchedInTransaction = new Set<string>();
  private rebuilding = false;
  private resyncSeq = 0;
  private readonly resynced = new Map<string, number>();

  /**
   * The store rolled back a transaction (a refused command, a full disk): every copy the
   * engine keeps of it is rebuilt from the store as it is now (slot index, door code index,
   * caches), and the keys re-derived inside it are derived again (their unplaced credentials).
   */
  private rebuildAfterRollback(): void {
    if (this.rebuilding) return; // a failure while rebuilding is logged by the store, not chased
    this.rebuilding = true;
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

  private lifecycleOf(key: Pick<Key, "keyId"> & { removedAt?: number | null }): KeyLifecycle {
    return { checkedOut: this.store.keyFacts.checkedOut(key.keyId), removed: key.removedAt != null };
  }

  isCommissioned(lockId: string): boolean {
    return this.lockRecord(lockId)?.state === "commissioned";
  }

  /** The lock's store record, cached (JSON columns are parsed once); forgetLock() after writing it. */
  lockRecord(lockId: string): LockRecord | undefined {
    if (!this.lockCache.has(lockId)) this.lockCache.set(lockId, this.store.locks.get(lockId) ?? null);
    return this.lockCache.get(lockId) ?? undefined;
  }

  forgetLock(lockId: string): void {
    this.lockCache.delete(lockId);
  }

  private readonly lockCache = new Map<string, LockRecord | null>();

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

  private forgetUnplaced(keyId: string): void {
    if (this.unplaced.size === 0) return;
    const ids = this.store.credentials.history(keyId).map((c) => c.credentialId);
    for (const [lockId, m] of this.unplaced) {
      for (const id of ids) m.delete(id);
      if (m.size === 0) this.unplaced.delete(lockId);
    }
  }

  /** The door codes held per door (room + linked doors), for allocation. Keyed by doorId. */
  private rebuildCodeIndex(): void {
    for (const keyId of this.store.keys.ids()) this.indexKeyCode(keyId);
  }

  /** Records the key's current code on every door it may reach (linked doors included, flag or not). */
  indexKeyCode(keyId: string): void {
    this.codes.removeKey(keyId);
    const code = this.store.credentials.currentOf(keyId, "doorCode");
    const key = this.store.keys.get(keyId);
    if (!code || !key || key.removedAt !== null) return;
    for (const doorId of codeDoors(key, this.doors())) this.codes.add(doorId, code.value, keyId);
  }

  // ------------------------------------------------------------------ locks in service

  /** Brings a commissioned lock into service (opens its link, starts its worker). */
  async openLock(lock: LockRecord, opts: { trustStored?: boolean } = {}): Promise<LockWorker> {
    const existing = this.locks.get(lock.lockId);
    if (existing) {
      existing.worker.recheck();
      return existing.worker;
    }
    const handle = await this.links.open(lock);
    const lockId = lock.lockId;
    const worker = new LockWorker({
      lockId,
      link: handle.port,
      store: this.tables,
      clock: this.clock,
      log: this.log,
      ident: lock.ident,
      pairingLost: isPairingLost(this.store, lockId),
      replaced: lock.state === "replaced",
      setupKey: () => this.store.linkState.setupKey(lockId),
      doorId: () => this.store.doors.byLock(lockId)[0]?.doorId,
      pollIntervalMs: handle.pollIntervalMs,
      ...(this.options.verifyIntervalMs !== undefined ? { verifyIntervalMs: this.options.verifyIntervalMs } : {}),
      doorHeldOpenSeconds: () => this.store.site.get()?.doorHeldOpenSeconds ?? 120,
      ...(this.options.random ? { random: this.options.random } : {}),
      ...(this.options.backoff ? { backoff: this.options.backoff } : {}),
      ...(this.options.clockPolicy ? { clockPolicy: this.options.clockPolicy } : {}),
      hooks: {
        slotsChanged: (id, credIds) => this.onSlotsChanged(id, credIds),
        tableChanged: (id) => this.status.lockChanged(id),
        health: (id, facts) => this.reports.health(id, facts),
        ident: (id, ident) => this.reports.ident(id, ident),
        replaced: (id, seen) => this.reports.replaced(id, seen),
        pairingLost: (id, alert) => this.reports.pairingLost(id, true, alert),
        pairingConfirmed: (id) => this.reports.pairingConfirmed(id),
        securityAlert: (id, reason, detail) => this.reports.securityAlert(id, reason, detail),
        emit: (events) => this.emit(events),
      },
    });
    const unsubscribe = [
      handle.onOnlineChange((online) => worker.onlineChanged(online)),
      handle.onEventNotify(() => worker.eventNotify()),
      handle.onSuspicious((kind) => (kind === "replay" ? this.reports.securityAlert(lockId, "replay", "a lock counter not above the last accepted") : this.reports.unsealedFrame(lockId))),
    ];
    this.locks.set(lockId, { worker, handle, unsubscribe });
    if (opts.trustStored) worker.restoreVerification();
    worker.start();
    return worker;
  }

  /** A link to a lock without a worker (commissioning, wipe). Close it when done. */
  openLink(lock: LockRecord): Promise<LockLinkHandle> {
    return this.links.open(lock);
  }

  /** Takes a lock out of service (decommission). */
  async closeLock(lockId: string): Promise<void> {
    const entry = this.locks.get(lockId);
    if (!entry) return;
    this.locks.delete(lockId);
    await this.closeEntry(entry);
  }

  private async closeEntry(entry: LockEntry): Promise<void> {
    for (const u of entry.unsubscribe) u();
    await entry.worker.stop();
    await entry.handle.close();
  }

  worker(lockId: string): LockWorker | undefined {
    return this.locks.get(lockId)?.worker;
  }

  handle(lockId: string): LockLinkHandle | undefined {
    return this.locks.get(lockId)?.handle;
  }

  lockIds(): string[] {
    return [...this.locks.keys()];
  }

  /** Remote unlock of a door (door.unlock). */
  async unlock(doorId: string, seconds: number, deadlineMs: number, signal?: AbortSignal): Promise<void> {
    const door = this.store.doors.get(doorId);
    if (!door) throw new LockBridgeError("unknown_door", `no door ${doorId}`, "doorId");
    if (door.lockId === null) throw new LockBridgeError("unknown_lock", `door ${doorId} has no lock`, "doorId");
    const worker = this.locks.get(door.lockId)?.worker;
    if (!worker) throw new LockBridgeError("lock_offline", `lock ${door.lockId} of door ${doorId} is not in service`, "doorId");
    await worker.unlock(seconds, deadlineMs, signal);
  }

  /**
   * True when every lock in service has nothing queued (tests and benchmarks wait for it).
   * @internal
   */
  get idle(): boolean {
    return [...this.locks.values()].every((e) => e.worker.idle || e.worker.isReplaced);
  }

  // ------------------------------------------------------------------ worker hooks

  private onSlotsChanged(lockId: string, credentialIds: readonly number[]): void {
    const keys = new Set<string>();
    const events: ContractEvent[] = [];
    const doorId = this.store.doors.byLock(lockId)[0]?.doorId;
    for (const id of credentialIds) {
      const c = this.store.credentials.get(id);
      if (!c) continue;
      keys.add(c.keyId);
      const row = this.index.rows(id).find((r) => r.lockId === lockId && r.desired?.credentialId === id);
      const k = `${lockId}|${id}`;
      const state = !row ? undefined : row.lastError !== null && !row.inSync ? "failed" : this.locks.get(lockId)?.worker.isVerified(row) === true ? "verified" : "pending";
      const before = this.lastFacts.get(k);
      if (state === before) continue;
      if (state === undefined) this.lastFacts.delete(k);
      else this.lastFacts.set(k, state);
      const base = { at: formatInstant(this.clock.now()), lockId, keyId: c.keyId, credential: c.kind, ...(doorId !== undefined ? { doorId } : {}) };
      if (state === "verified") events.push({ type: "credential.provisioned", ...base });
      else if (state === "failed" && row) events.push({ type: "credential.failed", ...base, reason: failureReason(row.lastError ?? "") });
    }
    if (events.length > 0) this.emit(events);
    for (const k of keys) this.status.keyChanged(k);
    // A refusal may put an arriving guest at risk.
    if (events.some((e) => e.type === "credential.failed")) for (const k of keys) this.agendas.schedule(k);
    this.status.lockChanged(lockId);
  }

  /** Stores events (held in memory while the data disk is full: held-events.ts). */
  emit(events: readonly HubEventInput[]): void {
    this.held.emit(events);
  }


  private doorOf(lockId: string): { doorId?: string } {
    const d = this.store.doors.byLock(lockId)[0]?.doorId;
    return d === undefined ? {} : { doorId: d };
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



