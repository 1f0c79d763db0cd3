/**
 * Protect Configuration: PMS-sourced upserts cannot change the door access settings of a
 * protected door (access period, arrival/departure times, allowProvisioning,
 * allowLinkedDoorsAccess, and whether the door is in the key at all). Everything else in the
 * upsert (holder, check-in, credentials, unprotected doors, version) applies. Manual upserts
 * always apply in full.
 *
 * A PMS key that the hub does not hold yet is applied as sent: there is no staff setting to
 * protect, and refusing it would leave protected rooms without PMS keys.
 */
import type { Door, Key, KeyDoorAccess } from "./model.js";

/** The door access settings that Protect Configuration guards. */
export const PROTECTED_FIELDS = [
  "accessPeriod.from",
  "accessPeriod.to",
  "arrivalTime",
  "departureTime",
  "allowProvisioning",
  "allowLinkedDoorsAccess",
] as const;
export type ProtectedField = (typeof PROTECTED_FIELDS)[number] | "door";

export interface ConfigWarning {
  code: "protected_configuration";
  doorId: string;
  /** The settings the PMS tried to change; ["door"] when it tried to add or drop the door. */
  fields: ProtectedField[];
  message: string;
}

export interface MergedUpsert {
  /** The key to store. */
  key: Key;
  /** One per protected door whose settings the PMS tried to change (for the command response). */
  warnings: ConfigWarning[];
}

function fieldValue(e: KeyDoorAccess, f: (typeof PROTECTED_FIELDS)[number]): string | boolean {
  switch (f) {
    case "accessPeriod.from":
      return e.accessPeriod.from;
    case "accessPeriod.to":
      return e.accessPeriod.to;
    default:
      return e[f];
  }
}

/** Which guarded settings differ between two entries of the same door. */
export function changedFields(a: KeyDoorAccess, b: KeyDoorAccess): (typeof PROTECTED_FIELDS)[number][] {
  return PROTECTED_FIELDS.filter((f) => fieldValue(a, f) !== fieldValue(b, f));
}

/** Apply a `key.upsert` to the stored key under Protect Configuration. */
export function applyKeyUpsert(stored: Key | undefined, incoming: Key, doors: ReadonlyMap<string, Door>): MergedUpsert {
  if (incoming.source !== "pms" || stored === undefined) return { key: incoming, warnings: [] };
  const isProtected = (doorId: string): boolean => doors.get(doorId)?.protectConfiguration === true;
  const storedEntries = new Map(stored.doors.map((e) => [e.doorId, e]));
  const incomingIds = new Set(incoming.doors.map((e) => e.doorId));
  const warnings: ConfigWarning[] = [];
  const merged: KeyDoorAccess[] = [];

  for (const entry of incoming.doors) {
    if (!isProtected(entry.doorId)) {
      merged.push(entry);
      continue;
    }
    const kept = storedEntries.get(entry.doorId);
    if (!kept) {
      warnings.push(warning(entry.doorId, ["door"], `door ${entry.doorId} has Protect Configuration: the PMS cannot add it to this key`));
      continue;
    }
    merged.push(kept);
    const fields = changedFields(kept, entry);
    if (fields.length > 0) {
      warnings.push(warning(entry.doorId, fields, `door ${entry.doorId} has Protect Configuration: PMS changes to ${fields.join(", ")} were not applied`));
    }
  }
  for (const kept of stored.doors) {
    if (isProtected(kept.doorId) && !incomingIds.has(kept.doorId)) {
      merged.push(kept);
      warnings.push(warning(kept.doorId, ["door"], `door ${kept.doorId} has Protect Configuration: the PMS cannot remove it from this key`));
    }
  }
  return { key: { ...incoming, doors: merged }, warnings };
}

function warning(doorId: string, fields: ProtectedField[], message: string): ConfigWarning {
  return { code: "protected_configuration", doorId, fields, message };
}

export interface DoorSettingsChange {
  doorId: string;
  change: "added" | "removed" | "changed";
  fields: ProtectedField[];
}

/**
 * What an upsert changed in the door access settings (after applyKeyUpsert). The engine
 * records the PMS ones so diagnosis can tell staff "the PMS changed these settings".
 */
export function doorSettingsChanges(before: Pick<Key, "doors"> | undefined, after: Pick<Key, "doors">): DoorSettingsChange[] {
  const prev = new Map((before?.doors ?? []).map((e) => [e.doorId, e]));
  const out: DoorSettingsChange[] = [];
  for (const e of after.doors) {
    const p = prev.get(e.doorId);
    if (!p) {
      if (before) out.push({ doorId: e.doorId, change: "added", fields: ["door"] });
      continue;
    }
    const fields = changedFields(p, e);
    if (fields.length > 0) out.push({ doorId: e.doorId, change: "changed", fields });
  }
  const now = new Set(after.doors.map((e) => e.doorId));
  for (const p of before?.doors ?? []) if (!now.has(p.doorId)) out.push({ doorId: p.doorId, change: "removed", fields: ["door"] });
  return out;
}
