/**
 * The fleet of lock workers: one LockWorker per lock in service, each with its link (opened
 * through LockLinks), applying, verifying and repairing the lock's credential table (worker/).
 *
 * What the workers report goes out through narrow ports: their facts to `FleetReports` (the
 * status side records them), credentials that became verified or failed as
 * credential.provisioned / credential.failed events and a status change. The fleet keeps
 * only what lives with the workers (their links, whether each lock is online now, the last
 * credential fact told per slot); everything else is read from the store.
 */
import type { CredentialType } from "../../access/model.js";
import type { HubEventInput } from "../../cloud/events.js";
import type { BackoffPolicy } from "../../shared/backoff.js";
import type { StatusSink } from "../../shared/change-bus.js";
import type { Clock } from "../../shared/clock.js";
import { LockBridgeError, errorMessage } from "../../shared/errors.js";
import { formatInstant } from "../../shared/instant.js";
import type { Logger } from "../../shared/logger.js";
import type { LockRecord, Store } from "../../store/index.js";
import type { ClockPolicy } from "./clock-policy.js";
import { sameBusAddress } from "./commission-checks.js";
import type { ContractEvent } from "./lock-events.js";
import { isPairingLost } from "./pairing-lost.js";
import type { LockLinkPort, LockTableStore, SlotRow } from "./ports.js";
import { failureReason } from "./reasons.js";
import { LockWorker, type LockWorkerHooks } from "./worker/index.js";

/** A lock's link as the fleet holds it while the lock is in service. */
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

/** Where the workers' facts are recorded (lock-reports.ts). */
export type FleetReports = Pick<LockWorkerHooks, "health" | "ident" | "replaced" | "pairingConfirmed" | "securityAlert"> & {
  pairingLost(lockId: string, lost: boolean, alert?: boolean): void;
  unsealedFrame(lockId: string): void;
};

/** What a lock's worker knows now, beyond the store (the status model reads it). */
export interface LiveLock {
  online: boolean | undefined;
  replaced: boolean;
  isVerified(row: { kind: CredentialType; inSync: boolean; updatedAt: number }): boolean;
}

export interface FleetOptions {
  /** How often each lock's tables are verified with TABLE_DIGEST while nothing else happens (changes behind the hub's back). */
  verifyIntervalMs?: number;
  backoff?: BackoffPolicy;
  clockPolicy?: ClockPolicy;
  random?: () => number;
}

export interface FleetDeps {
  store: Pick<Store, "lockFacts" | "linkState" | "doors" | "site" | "credentials">;
  tables: LockTableStore;
  clock: Clock;
  log: Logger;
  links: LockLinks;
  reports: FleetReports;
  status: StatusSink;
  /** The lock's slot row that desires the credential (one at most: a credential has one kind). */
  desiredRow(lockId: string, kind: CredentialType, credentialId: number): SlotRow | undefined;
  /** A credential failed: the key's at-risk check is due again. */
  scheduleKey(keyId: string): void;
  emit(events: readonly HubEventInput[]): void;
  options?: FleetOptions;
}

interface LockEntry {
  worker: LockWorker;
  handle: LockLinkHandle;
  unsubscribe: (() => void)[];
}

export class LockFleet {
  private readonly locks = new Map<string, LockEntry>();
  /** Online as last reported per lock (kept after its worker stops). */
  private readonly onlineNow = new Map<string, boolean>();
  /** Last published fact per `${lockId}|${credentialId}`, for credential.provisioned/failed. */
  private readonly lastFacts = new Map<string, "verified" | "pending" | "failed">();

  constructor(private readonly d: FleetDeps) {}

  /** Brings the stored locks in service, trusting their stored verification (hub start). */
  async start(locks: readonly LockRecord[]): Promise<void> {
    const commissioned = locks.filter((l) => l.state === "commissioned");
    for (const lock of locks) {
      // A lock reported replaced is still probed sealed: the report is a hint (LLP v1.1 §9.1);
      // not once an installer commissioned another lock at its address (the hub may have
      // stopped before the old one was decommissioned): that address is the new lock's now.
      if (lock.state !== "commissioned" && lock.state !== "replaced") continue;
      if (lock.state === "replaced" && commissioned.some((c) => sameBusAddress(c.link, lock.link))) continue;
      try {
        await this.openLock(lock, { trustStored: true });
      } catch (e) {
        // One lock the store cannot bring into service must not keep the hub, and every other
        // lock, from starting (the chaos run's restart loop): it is reported and left out.
        this.d.log.error({ lockId: lock.lockId, err: errorMessage(e) }, "lock not brought into service at start: check its link (lockbridge lock list), then commission it again");
      }
    }
  }

  async stop(): Promise<void> {
    const entries = [...this.locks.values()];
    this.locks.clear();
    await Promise.all(entries.map((e) => this.closeEntry(e)));
    this.d.tables.flushEventPages?.();
    this.d.tables.flush();
  }

  /** Brings a commissioned lock into service (opens its link, starts its worker). */
  async openLock(lock: LockRecord, opts: { trustStored?: boolean } = {}): Promise<LockWorker> {
    const existing = this.locks.get(lock.lockId);
    if (existing) {
      existing.worker.recheck();
      return existing.worker;
    }
    const handle = await this.d.links.open(lock);
    const lockId = lock.lockId;
    const { store, reports, options = {} } = this.d;
    const worker = new LockWorker({
      lockId,
      link: handle.port,
      store: this.d.tables,
      clock: this.d.clock,
      log: this.d.log,
      ident: lock.ident,
      pairingLost: isPairingLost(store, lockId),
      replaced: lock.state === "replaced",
      setupKey: () => store.linkState.setupKey(lockId),
      doorId: () => store.doors.byLock(lockId)[0]?.doorId,
      pollIntervalMs: handle.pollIntervalMs,
      ...(options.verifyIntervalMs !== undefined ? { verifyIntervalMs: options.verifyIntervalMs } : {}),
      doorHeldOpenSeconds: () => store.site.get()?.doorHeldOpenSeconds ?? 120,
      ...(options.random ? { random: options.random } : {}),
      ...(options.backoff ? { backoff: options.backoff } : {}),
      ...(options.clockPolicy ? { clockPolicy: options.clockPolicy } : {}),
      hooks: {
        slotsChanged: (id, credIds) => this.onSlotsChanged(id, credIds),
        tableChanged: (id) => this.d.status.lockChanged(id),
        health: (id, facts) => reports.health(id, facts),
        ident: (id, ident) => reports.ident(id, ident),
        replaced: (id, seen) => reports.replaced(id, seen),
        pairingLost: (id, alert) => reports.pairingLost(id, true, alert),
        pairingConfirmed: (id) => reports.pairingConfirmed(id),
        securityAlert: (id, reason, detail) => reports.securityAlert(id, reason, detail),
        emit: (events) => this.d.emit(events),
      },
    });
    const unsubscribe = [
      handle.onOnlineChange((online) => worker.onlineChanged(online)),
      handle.onEventNotify(() => worker.eventNotify()),
      handle.onSuspicious((kind) => (kind === "replay" ? reports.securityAlert(lockId, "replay", "a lock counter not above the last accepted") : reports.unsealedFrame(lockId))),
    ];
    this.locks.set(lockId, { worker, handle, unsubscribe });
    if (opts.trustStored) worker.restoreVerification();
    worker.start();
    return worker;
  }

  /** A link to a lock without a worker (commissioning, wipe). Close it when done. */
  openLink(lock: LockRecord): Promise<LockLinkHandle> {
    return this.d.links.open(lock);
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

  /** The lock has a worker (in service, or reported replaced and probed). */
  has(lockId: string): boolean {
    return this.locks.has(lockId);
  }

  lockIds(): string[] {
    return [...this.locks.keys()];
  }

  /** The lock's desired table changed: its worker plans again. */
  wake(lockId: string): void {
    this.locks.get(lockId)?.worker.desiredChanged();
  }

  /** The link's own view of the lock (false after its timeouts), undefined without a worker. */
  linkOnline(lockId: string): boolean | undefined {
    return this.locks.get(lockId)?.handle.port.online;
  }

  /** Online as the lock's worker last reported it. */
  online(lockId: string): boolean | undefined {
    return this.onlineNow.get(lockId);
  }

  setOnline(lockId: string, online: boolean): void {
    this.onlineNow.set(lockId, online);
  }

  /** What the lock's worker knows now; undefined when nothing was ever reported. */
  live(lockId: string): LiveLock | undefined {
    const worker = this.locks.get(lockId)?.worker;
    const online = this.onlineNow.get(lockId);
    if (!worker) return online === undefined ? undefined : { online, replaced: false, isVerified: () => false };
    return { online, replaced: worker.isReplaced, isVerified: (row) => worker.isVerified(row) };
  }

  /** Remote unlock of a door (door.unlock). */
  async unlock(doorId: string, seconds: number, deadlineMs: number, signal?: AbortSignal): Promise<void> {
    const door = this.d.store.doors.get(doorId);
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

  private onSlotsChanged(lockId: string, credentialIds: readonly number[]): void {
    const { store, status } = this.d;
    const keys = new Set<string>();
    const events: ContractEvent[] = [];
    const doorId = store.doors.byLock(lockId)[0]?.doorId;
    for (const id of credentialIds) {
      const c = store.credentials.get(id);
      if (!c) continue;
      keys.add(c.keyId);
      // This lock's row only: every row of the credential (its other locks) cost reads for nothing.
      const row = this.d.desiredRow(lockId, c.kind, id);
      const k = `${lockId}|${id}`;
      const state = !row ? undefined : row.lastError !== null && !row.inSync ? "failed" : this.locks.get(lockId)?.worker.isVerified(row) === true ? "verified" : "pending";
      const before = this.lastFacts.get(k);
      if (state === before) continue;
      if (state === undefined) this.lastFacts.delete(k);
      else this.lastFacts.set(k, state);
      const base = { at: formatInstant(this.d.clock.now()), lockId, keyId: c.keyId, credential: c.kind, ...(doorId !== undefined ? { doorId } : {}) };
      if (state === "verified") events.push({ type: "credential.provisioned", ...base });
      else if (state === "failed" && row) events.push({ type: "credential.failed", ...base, reason: failureReason(row.lastError ?? "") });
    }
    if (events.length > 0) this.d.emit(events);
    for (const k of keys) status.keyChanged(k);
    // A refusal may put an arriving guest at risk.
    if (events.some((e) => e.type === "credential.failed")) for (const k of keys) this.d.scheduleKey(k);
    status.lockChanged(lockId);
  }
}
