/**
 * What diagnosis looks at: a plain snapshot the hub assembles from its store and the
 * engine's lock knowledge. Plain data (arrays, records) so it can be logged for support
 * without secrets and replayed in tests.
 */
import type { DoorCodeOutcome, LockFact } from "../access/status.js";
import type { KeycardAssignment } from "../access/keycards.js";
import type { KeyLifecycle } from "../access/key-activation.js";
import type { CredentialType, Door, Key, KeySource, KeyStatus, Site } from "../access/model.js";
import type { ProtectedField } from "../access/protect-config.js";

export interface DiagnosisLock extends LockFact {
  /** Lock clock minus hub clock, seconds, from the last STATUS. */
  clockDriftS?: number;
  /** Slot use per kind. */
  slots?: Partial<Record<CredentialType, { used: number; total: number }>>;
  /** How the hub reaches it, for people: "serial /dev/ttyUSB0 addr 3". */
  link?: string;
  /** Percent, from the last STATUS. */
  battery?: number;
  /** The lock reported a tamper alarm recently. */
  recentTamper?: boolean;
  /** Reasons of recent lock.security_alert events. */
  securityAlerts?: string[];
  /** Error counters of the lock's bus since the hub started. */
  linkErrors?: { timeouts: number; crcErrors: number; retries: number };
  /** State "replaced": the lockId that answers at its link instead, when known. */
  replacedBy?: string;
  replaced?: boolean;
}

/** A change (or blocked attempt) of a key's door access settings, from the hub's history. */
export interface SettingsChangeRecord {
  atMs: number;
  source: KeySource;
  doorId: string;
  fields: ProtectedField[];
  /** false: blocked by Protect Configuration. */
  applied: boolean;
}

export interface KeyDiagnosisSnapshot {
  site: Site;
  doors: readonly Door[];
  locks: readonly DiagnosisLock[];
  key: Key;
  lifecycle: KeyLifecycle;
  /** The key's current status (deriveKeyStatus). */
  status: KeyStatus;
  /** The door code decision, for the detailed reason of an unavailable code. */
  doorCode?: DoorCodeOutcome;
  /** The keycard decision, for who holds a card the key asked for. */
  keycard?: KeycardAssignment;
  /** Unused cards in the inventory (what keycards.list would offer). */
  unusedKeycards?: number;
  /** Label of the key's card, if assigned. */
  keycardLabel?: string;
  settingsHistory?: readonly SettingsChangeRecord[];
  nowMs: number;
}

export interface DoorDiagnosisSnapshot {
  site: Site;
  doors: readonly Door[];
  locks: readonly DiagnosisLock[];
  doorId: string;
  /** Keys that target this door (directly or linked), with their status. */
  keys?: readonly { key: Key; status: KeyStatus }[];
  nowMs: number;
}
