/**
 * What a lock's worker reports, recorded: health (online, battery, door, clock drift, last
 * seen), its IDENT, a pairing lost or confirmed, another lock at its link, security alerts.
 * Each is written to the store first; then the lock's status (and its keys') follow on the
 * change bus, and the events go to the outbox.
 */
import type { IdentInfo } from "../../protocol/llp/commands.js";
import type { HubEventInput } from "../../cloud/events.js";
import type { Clock, TimerHandle } from "../../shared/clock.js";
import type { StatusSink } from "../../shared/change-bus.js";
import { errorMessage } from "../../shared/errors.js";
import { formatInstant } from "../../shared/instant.js";
import type { Logger } from "../../shared/logger.js";
import { rideAlong, type LockRecord, type Store } from "../../store/index.js";
import { batteryLowDue } from "../reconcile/battery.js";
import { clearPairingLost, markPairingLost } from "../reconcile/pairing-lost.js";
import { clearReplacedBy, markReplaced, replacedBy } from "../reconcile/replaced.js";
import type { SecurityAlertReason, SecurityAlerts } from "../reconcile/security-alerts.js";
import type { LockHealthFacts } from "../reconcile/worker/index.js";

/** lastSeen is written at most this often while nothing else changes (a poll every few seconds would cost a durable write each). */
const LAST_SEEN_WRITE_MS = 30_000;

/**
 * A lastSeen refresh alone rides along with the store's next commit, or waits at most this
 * long, written then with the other locks' in one commit: each was a commit of its own touching
 * one page of `locks`, 100 locks about three a second, half of what the hub wrote per lock
 * event (docs/performance.md, seventh round).
 */
export const LAST_SEEN_BATCH_MS = 5_000;

/**
 * The lock's clock counts whole seconds and the hub's `now` is cut to whole seconds, so the
 * same clock reads 0 and -1 s of drift on alternate polls: a change of one second is noise,
 * not news (it cost a store write and a retained status per poll: docs/performance.md).
 */
function driftMoved(written: number | null | undefined, now: number | null): boolean {
  if (written === undefined || written === null || now === null) return written !== now;
  return Math.abs(now - written) > 1;
}

export interface LockReportPorts {
  store: Pick<Store, "locks" | "transaction" | "relaxed" | "lockFacts" | "closed" | "beforeCommit" | "afterRollback">;
  clock: Clock;
  log: Logger;
  status: StatusSink;
  alerts: SecurityAlerts;
  online(lockId: string): boolean | undefined;
  setOnline(lockId: string, online: boolean): void;
  lockRecord(lockId: string): LockRecord | undefined;
  /** The lock's record changed in the store: drop any cached copy. */
  forgetLock(lockId: string): void;
  emit(events: readonly HubEventInput[]): void;
  doorOf(lockId: string): { doorId?: string };
  resyncKeys(keyIds: Iterable<string>): void;
  keysOnLock(lockId: string): Set<string>;
  scheduleKey(keyId: string): void;
}

export class LockReports {
  /** What was last written per lock, so that only changes are. */
  private readonly healthWritten = new Map<string, Partial<LockHealthFacts>>();
  /** lastSeen refreshes waiting for their batch, by lock. */
  private readonly lastSeenDue = new Map<string, number>();
  private lastSeenTimer: TimerHandle | undefined;

  constructor(private readonly p: LockReportPorts) {
    // Any commit carries the refreshes that wait (they cost no commit of their own then).
    rideAlong<[string, number][]>(p.store, {
      take: () => this.takeLastSeen(),
      write: (due) => {
        for (const [lockId, lastSeen] of due) {
          this.p.store.locks.updateHealth(lockId, { lastSeen });
          this.p.forgetLock(lockId);
          this.p.status.lockChanged(lockId);
        }
      },
      giveBack: (due) => this.takeBackLastSeen(due),
    });
  }

  /** Writes the lastSeen refreshes that wait (the batch's timer; a stop). */
  flushLastSeen(): void {
    this.lastSeenTimer?.cancel();
    this.lastSeenTimer = undefined;
    if (this.lastSeenDue.size === 0 || this.p.store.closed) return;
    try {
      // Not fsynced (relaxed), as every health write: the next poll finds it again. The
      // commit hook writes them.
      this.p.store.relaxed(() => undefined);
    } catch (e) {
      // A full data disk: the rollback hook gave them back; the next batch tries again.
      this.p.log.error({ locks: this.lastSeenDue.size, err: errorMessage(e) }, "storing locks' last seen failed");
      this.scheduleLastSeen();
    }
  }

  private takeLastSeen(): [string, number][] | undefined {
    if (this.lastSeenDue.size === 0) return undefined;
    const due = [...this.lastSeenDue];
    this.lastSeenDue.clear();
    this.lastSeenTimer?.cancel();
    this.lastSeenTimer = undefined;
    return due;
  }

  /** The commit that carried them rolled back: they wait again (unless newer ones came). */
  private takeBackLastSeen(due: [string, number][]): void {
    for (const [lockId, lastSeen] of due) {
      if (!this.lastSeenDue.has(lockId)) this.lastSeenDue.set(lockId, lastSeen);
      this.p.forgetLock(lockId);
    }
    if (this.lastSeenDue.size > 0) this.scheduleLastSeen();
  }

  private scheduleLastSeen(): void {
    this.lastSeenTimer ??= this.p.clock.setTimeout(() => this.flushLastSeen(), LAST_SEEN_BATCH_MS);
  }

  health(lockId: string, facts: Partial<LockHealthFacts>): void {
    const before = this.p.online(lockId);
    if (facts.online !== undefined) this.p.setOnline(lockId, facts.online);
    // Only what changed is written (a poll every few seconds per lock would otherwise cost a
    // durable write each); lastSeen is refreshed at most every LAST_SEEN_WRITE_MS.
    const last = this.healthWritten.get(lockId) ?? {};
    const changes: Partial<LockHealthFacts> = {};
    for (const k of ["online", "battery", "doorOpen"] as const) {
      if (facts[k] !== undefined && facts[k] !== last[k]) (changes as Record<string, unknown>)[k] = facts[k];
    }
    if (facts.clockDriftS !== undefined && driftMoved(last.clockDriftS, facts.clockDriftS)) changes.clockDriftS = facts.clockDriftS;
    if (facts.battery !== undefined && facts.battery !== null && batteryLowDue(this.p.store, lockId, facts.battery)) {
      this.p.emit([{ type: "lock.battery_low", at: formatInstant(this.p.clock.now()), lockId, battery: facts.battery, ...this.p.doorOf(lockId) }]);
    }
    if (facts.lastSeen !== undefined && (last.lastSeen === undefined || facts.lastSeen - last.lastSeen >= LAST_SEEN_WRITE_MS || Object.keys(changes).length > 0)) {
      changes.lastSeen = facts.lastSeen;
    }
    if (Object.keys(changes).length === 0) return;
    const onlineNews = facts.online !== undefined && facts.online !== before;
    if (!onlineNews && Object.keys(changes).length === 1 && changes.lastSeen !== undefined) {
      this.lastSeenDue.set(lockId, changes.lastSeen);
      this.healthWritten.set(lockId, { ...last, lastSeen: changes.lastSeen });
      this.scheduleLastSeen();
      return;
    }
    this.lastSeenDue.delete(lockId);
    try {
      // Not fsynced (relaxed): the next poll finds it again after a power cut.
      this.p.store.relaxed(() => this.p.store.locks.updateHealth(lockId, changes));
      this.healthWritten.set(lockId, { ...last, ...changes });
      this.p.forgetLock(lockId);
    } catch (e) {
      this.p.log.error({ lockId, err: errorMessage(e) }, "storing lock health failed");
    }
    if (onlineNews) {
      this.p.log[facts.online ? "info" : "warn"]({ lockId, ...this.p.doorOf(lockId) }, facts.online ? "lock online" : "lock offline");
      this.p.emit([{ type: facts.online ? "lock.online" : "lock.offline", at: formatInstant(this.p.clock.now()), lockId, ...this.p.doorOf(lockId) }]);
      for (const k of this.p.keysOnLock(lockId)) {
        this.p.status.keyChanged(k);
        // A lock lost shortly before a guest arrives puts the key at risk: judge it again.
        if (!facts.online) this.p.scheduleKey(k);
      }
    }
    this.p.status.lockChanged(lockId);
  }

  ident(lockId: string, ident: IdentInfo): void {
    const stored = this.p.lockRecord(lockId)?.ident;
    if (JSON.stringify(stored) === JSON.stringify(ident)) return;
    this.p.store.locks.setIdent(lockId, { ...ident });
    this.p.forgetLock(lockId);
    this.p.status.lockChanged(lockId);
  }

  /** LLP v1.1 §9.2: state pairing_lost once per loss (with the alert for plain locks), cleared by a sealed answer. */
  pairingLost(lockId: string, lost: boolean, alert = false): void {
    this.p.store.transaction(() => {
      if (!lost) return clearPairingLost(this.p.store, lockId);
      markPairingLost(this.p.store, lockId, this.p.clock.now());
      if (alert) this.p.alerts.raise(lockId, "pairing_lost", "only unsealed refusals come back; the hub does not re-pair it on its own");
    });
    this.p.status.lockChanged(lockId);
  }

  /** A sealed answer under the hub's key: the lock has it, whatever unsealed frames said. */
  pairingConfirmed(lockId: string): void {
    const wasReplaced = this.p.lockRecord(lockId)?.state === "replaced";
    this.p.store.transaction(() => {
      clearPairingLost(this.p.store, lockId);
      if (wasReplaced) {
        this.p.store.locks.setState(lockId, "commissioned");
        clearReplacedBy(this.p.store, lockId);
      }
    });
    if (wasReplaced) {
      this.p.log.info({ lockId }, "lock reported replaced answered sealed under its key: back in service");
      this.p.forgetLock(lockId);
      this.p.resyncKeys(this.p.keysOnLock(lockId));
    }
    this.p.status.lockChanged(lockId);
  }

  securityAlert(lockId: string, reason: SecurityAlertReason, detail: string): void {
    this.p.store.transaction(() => this.p.alerts.raise(lockId, reason, detail));
    this.p.status.lockChanged(lockId);
  }

  unsealedFrame(lockId: string): void {
    if (this.p.store.transaction(() => this.p.alerts.unsealedFrame(lockId))) this.p.status.lockChanged(lockId);
  }

  /**
   * The lock stopped answering sealed and an unsealed IDENT shows another lockId: a hint. State
   * `replaced` names the lock seen (for `lock replace`), its keys wait; the worker keeps probing
   * sealed, and a sealed answer puts it back (pairingConfirmed).
   */
  replaced(lockId: string, seen: IdentInfo): void {
    if (this.p.lockRecord(lockId)?.state === "replaced" && replacedBy(this.p.store, lockId) === seen.lockId.toLowerCase()) return;
    this.p.store.transaction(() => {
      markReplaced(this.p.store, lockId, seen.lockId);
      this.p.setOnline(lockId, false);
      this.p.forgetLock(lockId);
      this.p.emit([{ type: "lock.replaced", at: formatInstant(this.p.clock.now()), lockId, newLockId: seen.lockId.toLowerCase(), model: seen.model, ...this.p.doorOf(lockId) }]);
    });
    // Its keys are no longer deliverable there (not_commissioned) until an installer acts.
    this.p.resyncKeys(this.p.keysOnLock(lockId));
    this.p.status.lockChanged(lockId);
  }
}
