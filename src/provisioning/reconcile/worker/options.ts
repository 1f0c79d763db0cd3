/** What the engine hands a lock worker, and what the worker tells the engine back. */
import type { IdentInfo } from "../../../protocol/llp/commands.js";
import type { Clock } from "../../../shared/clock.js";
import type { Logger } from "../../../shared/logger.js";
import type { BackoffPolicy } from "../../../shared/backoff.js";
import type { ClockPolicy } from "../clock-policy.js";
import type { ContractEvent } from "../lock-events.js";
import type { LockLinkPort, LockTableStore } from "../ports.js";
import type { SecurityAlertReason } from "../security-alerts.js";

export interface LockHealthFacts {
  online: boolean;
  lastSeen: number;
  battery: number;
  doorOpen: boolean;
  /** Lock minus hub, seconds, as last measured; null when the lock's clock was lost. */
  clockDriftS: number | null;
}

/** What the worker tells the engine. */
export interface LockWorkerHooks {
  /** Slots changed on the lock or were verified: the keys of these credentials need a status. */
  slotsChanged(lockId: string, credentialIds: readonly number[]): void;
  /** A slot was written that changes no key's status yet (the lock's slot use did change). */
  tableChanged?(lockId: string): void;
  health(lockId: string, facts: Partial<LockHealthFacts>): void;
  /** IDENT answered with this lock's id (store it: firmware version, slot counts). */
  ident(lockId: string, ident: IdentInfo): void;
  /** The lock stopped answering sealed and an unsealed IDENT shows another lockId (a hint). */
  replaced(lockId: string, seen: IdentInfo): void;
  /**
   * The lock seems to have lost its link key and was not re-paired (LLP §9.2): state
   * pairing_lost; `alert` also raises the pairing_lost alert (a plain lock, or no setup key).
   */
  pairingLost(lockId: string, alert: boolean): void;
  /** A sealed answer under the hub's key came back after pairingLost or replaced: the lock still has the key. */
  pairingConfirmed(lockId: string): void;
  /** Something on the link that LLP v1.1 §9.4 says to report. */
  securityAlert(lockId: string, reason: SecurityAlertReason, detail: string): void;
  /** Events ready for the outbox that are not lock log events (lock.clock_drift, door.held_open...). */
  emit(events: ContractEvent[]): void;
  /** The lock logged events; after they are committed (e.g. FIRMWARE_APPLIED for a job). */
  lockEvents?(lockId: string, events: ContractEvent[]): void;
}

export interface LockWorkerOptions {
  lockId: string;
  link: LockLinkPort;
  store: LockTableStore;
  clock: Clock;
  log: Logger;
  hooks: LockWorkerHooks;
  /** The lock's last IDENT (slot counts, capabilities); refreshed by the worker's own IDENT. */
  ident: IdentInfo | null;
  /** The door the lock is on (events carry it). */
  doorId: () => string | undefined;
  /** STATUS poll period: the profile's poll interval on serial, a safety net on TCP/BLE. */
  pollIntervalMs: number;
  /** Routine TABLE_DIGEST check of every table (a lock changed behind the hub's back). Default 15 min. */
  verifyIntervalMs?: number;
  doorHeldOpenSeconds: () => number;
  random?: () => number;
  backoff?: BackoffPolicy;
  clockPolicy?: ClockPolicy;
  /** The store says pairing_lost (reported before a restart): a sealed answer still clears it. */
  pairingLost?: boolean;
  /** The store says replaced (a hint reported before a restart): a sealed answer still clears it. */
  replaced?: boolean;
  /** The setup key from lock.commission (PAIR_KX locks), for re-pairing a lock that lost its key. */
  setupKey?: () => Uint8Array | null;
}
