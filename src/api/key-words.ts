/**
 * A key's state and reasons in the words of the support article ("Portal troubleshooting:
 * general scenarios of key creation", shared/seed/portal-key-troubleshooting.txt), so that the
 * console says what staff read in the Portal: "Pending: lock offline", "Inactive: not checked in",
 * "No Doorcode Assigned", "Smart Key is ready to use". The contract's codes stay in the API
 * next to these words; the words are for people and never branched on.
 */
import type { DoorReason, DoorState } from "../access/model.js";

const STATE_WORDS: Record<DoorState, string> = {
  active: "Active",
  pending: "Pending",
  inactive: "Inactive",
  failed: "Failed",
  revoking: "Revoking",
  revoked: "Revoked",
};

/** Each reason as the article's "Why this happens" lines put it. */
const REASON_WORDS: Record<DoorReason, string> = {
  lock_offline: "lock offline",
  provisioning_disabled: "Allow Provisioning unchecked",
  not_checked_in: "not checked in",
  access_period_not_started: "access period not started",
  access_period_ended: "access period ended",
  credential_type_disabled: "credential type disabled in Customization",
  code_unavailable: "no available code for Preferred or Strict",
  keycard_unavailable: "keycard unavailable",
  lock_memory_full: "lock memory full",
  not_supported: "credential type not supported by the lock",
  lock_rejected: "refused by the lock",
  not_commissioned: "lock not installed",
};

export function reasonWords(reason: string): string {
  return (REASON_WORDS as Record<string, string | undefined>)[reason] ?? reason.replace(/_/g, " ");
}

export function stateWords(state: string): string {
  return (STATE_WORDS as Record<string, string | undefined>)[state] ?? state;
}

/** "Pending: lock offline", "Inactive: not checked in", "Active". */
export function doorWords(state: string, reasons: readonly string[]): string {
  const words = stateWords(state);
  return reasons.length === 0 ? words : `${words}: ${reasons.map(reasonWords).join(", ")}`;
}

type Credential = "doorCode" | "keycard" | "smartKey";

const CREDENTIAL_NAMES: Record<Credential, string> = { doorCode: "Door Code", keycard: "Keycard", smartKey: "Smart Key" };

/** A credential's state as the article's "What you see in the UI" lines say it. */
export function credentialWords(kind: Credential, state: string, reason?: string): string {
  const name = CREDENTIAL_NAMES[kind];
  const why = reason === undefined ? "" : `: ${reasonWords(reason)}`;
  if (kind === "smartKey") {
    if (state === "ready") return "Smart Key is ready to use";
    if (state === "pending") return `Smart Key pending${why}`;
    if (state === "disabled") return "Smart Key off";
    if (state === "failed") return `Smart Key failed${why}`;
  } else {
    if (state === "assigned") return `${name} assigned`;
    if (state === "unassigned") return `${kind === "doorCode" ? "No Doorcode Assigned" : "No Keycard Assigned"}${why}`;
    if (state === "disabled") return `${name} off`;
    if (state === "failed") return `${name} failed${why}`;
  }
  return `${name}: ${state}`;
}
