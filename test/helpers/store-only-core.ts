/**
 * A cloud sync without the provisioning side, for tests of the command layer and the MQTT
 * contract alone: keys stored as given, keycards assigned from the inventory, and PROVISIONAL
 * statuses from the store and the access rules (nothing is known about locks: doors that
 * would be delivered are `pending` without a reason; never `active`). The hub never runs it.
 */
import { keyActivation, type KeyLifecycle } from "../../src/access/key-activation.js";
import type { DoorReason, DoorState, DoorStatus, Key, KeyStatus, Site } from "../../src/access/model.js";
import { worstState } from "../../src/access/status.js";
import { accessWindow, windowState } from "../../src/access/windows.js";
import type { KeyChangeContext, KeyChangeOutcome, KeyCommands } from "../../src/cloud/handlers/key-commands.js";
import type { LockStatus, StatusSource } from "../../src/cloud/status-publisher.js";
import type { Clock } from "../../src/shared/clock.js";
import { formatInstant } from "../../src/shared/instant.js";
import type { KeyRecord, Store } from "../../src/store/index.js";
import { lockHealthFacts } from "../../src/provisioning/status/status-model.js";

/** Plain store effects, provisional statuses. */
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

export function storeStatusSource(store: Store, keys: Pick<KeyCommands, "status">): StatusSource {
  return {
    keyStatus: (keyId) => keys.status(keyId),
    lockStatus: (lockId) => lockStatusFromStore(store, lockId),
    keyIds: () => store.keys.ids(),
    lockIds: () => store.locks.list().map((l) => l.lockId),
  };
}

export function lockStatusFromStore(store: Store, lockId: string): LockStatus | null {
  const lock = store.locks.get(lockId);
  if (!lock) return null;
  const ident = lock.ident;
  const used = store.slots.usedCounts(lockId);
  return {
    lockId: lock.lockId,
    online: lock.online,
    ...lockHealthFacts(lock),
    slots: {
      doorCode: { used: used.doorCode, total: ident?.codeSlots ?? null },
      keycard: { used: used.keycard, total: ident?.cardSlots ?? null },
      smartKey: { used: used.smartKey, total: ident?.mobileKeySlots ?? null },
    },
  };
}
