/**
 * Diagnosis findings: what the `diagnose` command answers (mqtt-api.md §3):
 * `{findings: [{code, severity, doorId, message, fix}]}`. Each finding explains one fact
 * staff can check and says, in hub terms (command and field), what changes it.
 * Messages never contain a door code or a keycard UID.
 */

export type Severity = "error" | "warning" | "info";

export type FindingCode =
  // key lifecycle
  | "key_revoked"
  | "not_checked_in"
  | "key_ready"
  | "no_credentials_enabled"
  // doors and locks
  | "unknown_door"
  | "invalid_window"
  | "not_commissioned"
  | "lock_offline"
  | "provisioning_disabled"
  | "provisioning_in_progress"
  | "lock_memory_full"
  | "lock_memory_low"
  | "not_supported"
  | "lock_rejected"
  | "lock_clock_drift"
  | "lock_battery_low"
  | "lock_tamper"
  | "lock_security_alert"
  | "lock_link_errors"
  | "lock_replaced"
  | "door_ok"
  | "door_keys_failed"
  | "door_keys_pending"
  // access times
  | "access_window"
  | "access_time_dst_adjusted"
  | "access_period_not_started"
  | "access_period_ended"
  // linked doors
  | "linked_doors_access_off"
  | "linked_door_invalid"
  | "linked_rooms"
  // protect configuration
  | "pms_can_change_settings"
  | "pms_changed_settings"
  | "pms_updates_blocked"
  | "protect_configuration_on"
  // credentials
  | "credential_type_disabled"
  | "door_code_unavailable"
  | "door_code_waiting_for_lock"
  | "door_code_failed"
  | "keycard_assigned"
  | "keycard_unavailable"
  | "keycard_failed"
  | "no_unused_keycards"
  | "smart_key_ready"
  | "smart_key_not_activated"
  | "smart_key_invalid"
  | "smart_key_pending"
  | "smart_key_failed";

export interface Finding {
  code: FindingCode;
  severity: Severity;
  doorId?: string;
  message: string;
  /** What to do, naming the hub command and field (or the physical check). */
  fix: string;
}

const RANK: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

/** Errors first, then warnings, then information; stable otherwise. */
export function sortFindings(findings: readonly Finding[]): Finding[] {
  return findings
    .map((f, i) => ({ f, i }))
    .sort((a, b) => RANK[a.f.severity] - RANK[b.f.severity] || a.i - b.i)
    .map(({ f }) => f);
}

export function finding(code: FindingCode, severity: Severity, doorId: string | undefined, message: string, fix: string): Finding {
  return doorId === undefined ? { code, severity, message, fix } : { code, severity, doorId, message, fix };
}
