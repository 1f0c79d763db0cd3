/**
 * Whether a key should have credentials on locks at all, before windows and doors.
 *
 * - PMS keys work only once checked in (`not_checked_in` until then); the cloud sends
 *   `checkedIn: true` for manual keys by default, and an explicit false is honoured for
 *   both sources (staff may stage a key before handing it out).
 * - Check-out (checkedIn going true -> false) and removal revoke the key: its credentials
 *   leave every lock and its keycard returns to the inventory. Checking in again (a PMS
 *   correction) makes it live again.
 */
import type { Key } from "./model.js";

/** What the hub remembers about a key beyond its desired shape (the store persists it). */
export interface KeyLifecycle {
  /** `key.remove` accepted (or the key left a snapshot): credentials must leave every lock. */
  removed: boolean;
  /** The key was checked in and then checked out. */
  checkedOut: boolean;
}

export const NEW_LIFECYCLE: KeyLifecycle = { removed: false, checkedOut: false };

export type KeyActivation =
  | { state: "live" }
  | { state: "inactive"; reason: "not_checked_in" }
  | { state: "revoked"; reason: "removed" | "checked_out" };

export function keyActivation(key: Pick<Key, "checkedIn">, lifecycle: KeyLifecycle): KeyActivation {
  if (lifecycle.removed) return { state: "revoked", reason: "removed" };
  if (!key.checkedIn) {
    return lifecycle.checkedOut ? { state: "revoked", reason: "checked_out" } : { state: "inactive", reason: "not_checked_in" };
  }
  return { state: "live" };
}

/**
 * The lifecycle after a key changes (upsert, key.checkin). `previous` is the stored key,
 * undefined for a new one. A removed key that is upserted again (newer version) is live again.
 */
export function nextLifecycle(previous: Pick<Key, "checkedIn"> | undefined, prevLifecycle: KeyLifecycle | undefined, next: Pick<Key, "checkedIn">): KeyLifecycle {
  const was = prevLifecycle ?? NEW_LIFECYCLE;
  if (next.checkedIn) return { removed: false, checkedOut: false };
  const checkingOut = previous?.checkedIn === true;
  return { removed: false, checkedOut: was.checkedOut || checkingOut };
}

/** A removed key's lifecycle. */
export function removedLifecycle(prev: KeyLifecycle | undefined): KeyLifecycle {
  return { ...(prev ?? NEW_LIFECYCLE), removed: true };
}

/** True while the key may hold credentials (and a keycard) on locks. */
export function holdsCredentials(activation: KeyActivation): boolean {
  return activation.state === "live";
}

/** True while the key still counts as the holder of its keycard (not revoked). */
export function holdsKeycard(activation: KeyActivation): boolean {
  return activation.state !== "revoked";
}
