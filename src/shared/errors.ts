/**
 * One error type with stable codes. Code branches on `code`, never on message text.
 * The cloud-facing codes are exactly the MQTT contract's error codes (mqtt-api.md §3);
 * the others are internal and are mapped to a contract code at the cloud boundary.
 */
export const CONTRACT_ERROR_CODES = [
  "invalid_payload",
  "payload_too_large",
  "expired",
  "unknown_command",
  "unknown_site",
  "unknown_lock",
  "unknown_door",
  "unknown_key",
  "unknown_keycard",
  "unknown_profile",
  "keycard_in_use",
  "code_unavailable",
  "lock_offline",
  "lock_rejected",
  "unauthorized",
  "internal",
] as const;
export type ContractErrorCode = (typeof CONTRACT_ERROR_CODES)[number];

export const INTERNAL_ERROR_CODES = [
  "config_invalid",
  "profile_invalid",
  "store_corrupt",
  "store_foreign",
  "store_locked",
  "store_disk_full",
  "store_migration_failed",
  "frame_invalid",
  "lock_timeout",
  "lock_nak",
  "lock_not_paired",
  "lock_identity_mismatch",
  "lock_pairing_unconfirmed",
  "transport_closed",
  "transport_unavailable",
  "ble_unavailable",
  "cli_usage",
] as const;
export type InternalErrorCode = (typeof INTERNAL_ERROR_CODES)[number];

export type ErrorCode = ContractErrorCode | InternalErrorCode;

export class LockBridgeError extends Error {
  override readonly name = "LockBridgeError";
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Where the problem is: a config path, a JSON path of a payload, a file. */
    readonly path?: string,
    readonly context?: Readonly<Record<string, unknown>>,
  ) {
    super(message);
  }
}

export function isLockBridgeError(e: unknown, code?: ErrorCode): e is LockBridgeError {
  return e instanceof LockBridgeError && (code === undefined || e.code === code);
}

/** For catch blocks: a readable message from anything thrown. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
