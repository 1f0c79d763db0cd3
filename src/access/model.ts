/**
 * The hotel's desired state as the hub holds it: the site, doors, keys and keycards
 * the cloud sent (mqtt-api.md §3), plus what the hub itself decided (assigned codes).
 * Pure types: the cloud schemas produce them, the store persists them, the access
 * rules and the provisioning engine read them.
 */

export type CredentialType = "doorCode" | "keycard" | "smartKey";
export const CREDENTIAL_TYPES: readonly CredentialType[] = ["doorCode", "keycard", "smartKey"];

/** LLP credential kinds (lock-link-protocol.md §3). */
export const LLP_KIND = { doorCode: 1, keycard: 2, smartKey: 3 } as const satisfies Record<CredentialType, number>;

export interface Site {
  siteId: string;
  /** IANA time zone, e.g. "Europe/Prague". Dates and times of day in keys are local to it. */
  timezone: string;
  credentialTypes: Record<CredentialType, boolean>;
  /** 4..12, default 6. */
  doorCodeLength: number;
  doorHeldOpenSeconds: number;
  atRiskMinutes: number;
}

export type DoorKind = "room" | "common";

export interface Door {
  doorId: string;
  name: string;
  /** The lock on this door; null while no lock is installed. */
  lockId: string | null;
  kind: DoorKind;
  /** For a room: the common doors (lobby, gym...) its guests may also open. */
  linkedDoorIds: string[];
  /** PMS updates cannot change this room's door access settings. */
  protectConfiguration: boolean;
}

export interface AccessPeriod {
  /** Local date YYYY-MM-DD, first day of access. */
  from: string;
  /** Local date YYYY-MM-DD, last day of access. */
  to: string;
}

export interface KeyDoorAccess {
  doorId: string;
  accessPeriod: AccessPeriod;
  /** Local time HH:MM on the first day when access starts. */
  arrivalTime: string;
  /** Local time HH:MM on the last day when access ends. */
  departureTime: string;
  allowProvisioning: boolean;
  allowLinkedDoorsAccess: boolean;
}

export type KeySource = "manual" | "pms";
export type CodeAssignment = "random" | "preferred" | "strict";

export interface DoorCodeRequest {
  enabled: boolean;
  assignment: CodeAssignment;
  /** The requested code (preferred/strict). Never logged. */
  code?: string | undefined;
}

export interface KeycardRequest {
  enabled: boolean;
  cardId?: string | undefined;
}

export interface SmartKeyRequest {
  enabled: boolean;
  /** Base64 Ed25519 public key (32 bytes). */
  publicKey?: string | undefined;
}

export interface Key {
  keyId: string;
  version: number;
  source: KeySource;
  pms?: { provider: "mews" | "cloudbeds"; reservationId: string } | undefined;
  holder?: { name: string } | undefined;
  /** PMS keys work only once checked in; manual keys default to true. */
  checkedIn: boolean;
  doors: KeyDoorAccess[];
  doorCode: DoorCodeRequest;
  keycard: KeycardRequest;
  smartKey: SmartKeyRequest;
}

export interface Keycard {
  cardId: string;
  /** Card UID, hex, 4..10 bytes. */
  uid: string;
  label: string;
}

export type LockLink =
  | { type: "serial"; path: string; address: number }
  | { type: "tcp"; host: string; port: number; address: number }
  | { type: "ble"; lockId: string };

/** Door states and reasons of the contract (mqtt-api.md §4). */
export type DoorState = "active" | "pending" | "inactive" | "failed" | "revoking" | "revoked";
export type DoorReason =
  | "lock_offline"
  | "provisioning_disabled"
  | "not_checked_in"
  | "access_period_not_started"
  | "access_period_ended"
  | "credential_type_disabled"
  | "code_unavailable"
  | "keycard_unavailable"
  | "lock_memory_full"
  | "not_supported"
  | "lock_rejected"
  | "not_commissioned";

/** Worst first: a key's state is the worst of its doors' (mqtt-api.md §4). */
export const DOOR_STATE_SEVERITY: readonly DoorState[] = [
  "failed",
  "pending",
  "revoking",
  "inactive",
  "revoked",
  "active",
];

export interface DoorStatus {
  doorId: string;
  linked: boolean;
  state: DoorState;
  reasons: DoorReason[];
  validFrom?: string;
  validUntil?: string;
}

export type CredentialAssignmentState = "assigned" | "unassigned" | "disabled" | "failed";
export type SmartKeyState = "ready" | "pending" | "disabled" | "failed";

export interface KeyStatus {
  keyId: string;
  version: number;
  state: DoorState;
  doors: DoorStatus[];
  doorCode: { state: CredentialAssignmentState; code?: string; reason?: string };
  keycard: { state: CredentialAssignmentState; cardId?: string; reason?: string };
  smartKey: { state: SmartKeyState; reason?: string };
  updatedAt: string;
}
