/**
 * The seam between the command layer and the provisioning engine for keys.
 *
 * The command layer (keys.ts, snapshot.ts) owns validation, the version/stale rules and
 * the transaction; a `KeyCommands` implementation owns what a key change MEANS: code
 * allocation, keycard assignment, Protect Configuration, revocation and the key status.
 * Every method runs inside the command's transaction (synchronous: no lock I/O here; the
 * engine reconciles locks afterwards) and reports the keys/locks whose status changed.
 *
 * `storeOnlyKeyCommands` is the stand-in until the provisioning engine provides its own
 * (the hub's composition root passes one to createCloudSync): it stores keys as given,
 * assigns keycards from the inventory, and answers with a PROVISIONAL status derived from
 * the store and the access rules alone (nothing is known about locks: doors that would be
 * delivered are `pending` without a reason). It never claims `active`.
 */
import { keyActivation, type KeyLifecycle } from "../../access/key-activation.js";
import type { DoorReason, DoorState, DoorStatus, Key, KeyStatus, Site } from "../../access/model.js";
import { worstState } from "../../access/status.js";
import { accessWindow, windowState } from "../../access/windows.js";
import type { KeyRecord, Store } from "../../store/index.js";
import type { Clock } from "../../shared/clock.js";
import type { Logger } from "../../shared/logger.js";
import type { HubEventInput } from "../events.js";
import { formatInstant } from "../../shared/instant.js";

/** What a key change may touch besides the store: events and status notifications. */
export interface KeyChangeContext {
  readonly clock: Clock;
  readonly log: Logger;
  /** "command": key.upsert/checkin/remove; "snapshot": applied as part of sync.snapshot. */
  readonly origin: "command" | "snapshot";
  emit(event: HubEventInput): void;
  keyChanged(keyId: string): void;
  lockChanged(lockId: string): void;
}

export interface KeyChangeOutcome {
  status: KeyStatus;
  warnings: string[];
}

export interface KeyCommands {
  /**
   * Applies a key that is NOT stale (the caller checked the version) and whose doors exist.
   * Throws LockBridgeError with a contract code to refuse it (keycard_in_use, code_unavailable...).
   */
  upsert(key: Key, ctx: KeyChangeContext): KeyChangeOutcome;
  /** key.checkin on a live key. */
  checkin(keyId: string, checkedIn: boolean, ctx: KeyChangeContext): KeyChangeOutcome;
  /** key.remove (not stale, the key exists): revoke its credentials everywhere. */
  remove(keyId: string, version: number, ctx: KeyChangeContext): KeyChangeOutcome;
  /** The key's current status; null once it is fully removed (empty retained payload). */
  status(keyId: string): KeyStatus | null;
}

/** The stand-in implementation: plain store effects, provisional statuses. */
export function storeOnlyKeyCommands(store: Store, clock: Clock): KeyCommands {
  const status = (keyId: string): KeyStatus | null => {
    const key = store.keys.get(keyId);
    if (!key || key.removedAt !== null) return null; // nothing is on any lock: removal is immediate
    return provisionalKeyStatus(key, store, clock.now());
  };
  const outcome = (keyId: string, ctx: KeyChangeContext): KeyChangeOutcome => {
    ctx.keyChanged(keyId);
    const key = store.keys.get(keyId);
    if (!key) throw new Error(`key ${keyId} vanished inside its own transaction`);
    return { status: provisionalKeyStatus(key, store, clock.now()), warnings: [] };
  };
  return {
    upsert(key, ctx) {
      if (key.keycard.enabled && key.keycard.cardId !== undefined) store.keycards.assign(key.keycard.cardId, key.keyId);
      else store.keycards.releaseKey(key.keyId);
      store.keys.upsert(key);
      return outcome(key.keyId, ctx);
    },
    checkin(keyId, checkedIn, ctx) {
      store.keys.setCheckedIn(keyId, checkedIn);
      return outcome(keyId, ctx);
    },
    remove(keyId, version, ctx) {
      store.keys.remove(keyId, version);
      store.keycards.releaseKey(keyId);
      return outcome(keyId, ctx);
    },
    status,
  };
}

/**
 * A key's status from the desired state alone (no lock knowledge): revoked when removed,
 * inactive with its reason when not checked in or outside its window, pending with
 * provisioning_disabled / not_commissioned / credential_type_disabled when that blocks it,
 * pending without reason otherwise (waiting for the provisioning engine).
 */
export function provisionalKeyStatus(key: KeyRecord, store: Store, nowMs: number): KeyStatus {
  const site = store.site.get();
  const lifecycle: KeyLifecycle = { removed: key.removedAt !== null, checkedOut: false };
  const activation = keyActivation(key, lifecycle);
  const doors: DoorStatus[] = key.doors.map((entry) => {
    const base = { doorId: entry.doorId, linked: false };
    if (activation.state === "revoked") return { ...base, state: "revoked", reasons: [] };
    const window = site ? accessWindow(entry, site.timezone) : undefined;
    const bounds =
      window?.ok === true
        ? { validFrom: formatInstant(window.value.validFrom * 1000), validUntil: formatInstant(window.value.validUntil * 1000) }
        : {};
    const with_ = (state: DoorState, reasons: DoorReason[]): DoorStatus => ({ ...base, state, reasons, ...bounds });
    if (activation.state === "inactive") return with_("inactive", ["not_checked_in"]);
    if (window?.ok === true) {
      const w = windowState(window.value, nowMs);
      if (w === "not_started") return with_("inactive", ["access_period_not_started"]);
      if (w === "ended") return with_("inactive", ["access_period_ended"]);
    }
    if (!entry.allowProvisioning) return with_("pending", ["provisioning_disabled"]);
    const door = store.doors.get(entry.doorId);
    const lock = door?.lockId ? store.locks.get(door.lockId) : undefined;
    if (!lock || lock.state !== "commissioned") return with_("pending", ["not_commissioned"]);
    if (site && !anyCredentialEnabled(site, key)) return with_("pending", ["credential_type_disabled"]);
    return with_("pending", []);
  });
  const state = worstState(doors.map((d) => d.state)) ?? (activation.state === "revoked" ? "revoked" : "pending");
  const card = store.keycards.assignedTo(key.keyId);
  const typeOn = (t: keyof Site["credentialTypes"]) => site?.credentialTypes[t] ?? true;
  return {
    keyId: key.keyId,
    version: key.version,
    state,
    doors,
    doorCode: !key.doorCode.enabled || !typeOn("doorCode") ? { state: "disabled" } : { state: "unassigned", reason: "not_allocated_yet" },
    keycard: !key.keycard.enabled || !typeOn("keycard") ? { state: "disabled" } : card ? { state: "assigned", cardId: card.cardId } : { state: "unassigned", reason: "keycard_unavailable" },
    smartKey: !key.smartKey.enabled || !typeOn("smartKey") ? { state: "disabled" } : { state: "pending" },
    updatedAt: formatInstant(key.updatedAt),
  };
}

function anyCredentialEnabled(site: Site, key: Key): boolean {
  return (
    (key.doorCode.enabled && site.credentialTypes.doorCode) ||
    (key.keycard.enabled && site.credentialTypes.keycard) ||
    (key.smartKey.enabled && site.credentialTypes.smartKey)
  );
}

