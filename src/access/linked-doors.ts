/**
 * The doors a key's credentials go to: each door entry's door, plus — when the entry has
 * allowLinkedDoorsAccess — the common doors linked to that room, with the same window.
 *
 * Merging: a common door reached through several rooms of the key gets the union span of
 * those windows (earliest start, latest end), so the guest is never locked out of the lobby
 * while any of their rooms is valid. An explicit entry for a door wins over links to it (staff
 * set that door's window on purpose). Without allowLinkedDoorsAccess the linked doors are not
 * targets, so a plan removes the key's credentials from them.
 */
import type { Door, Key, KeyDoorAccess } from "./model.js";
import { accessWindow, unionSpan, type WindowBounds, type WindowError } from "./windows.js";

export interface TargetDoor {
  doorId: string;
  /** True when reached only through a room's linkedDoorIds. */
  linked: boolean;
  window: WindowBounds;
  /** From the entry (for a linked door: true if any room reaching it allows provisioning). */
  allowProvisioning: boolean;
  /** For a linked door: the rooms it was reached through, in key order. Empty for an entry's own door. */
  via: string[];
}

export type TargetIssue =
  | { code: "unknown_door"; doorId: string; message: string }
  | { code: "invalid_window"; doorId: string; entryIndex: number; error: WindowError; message: string }
  | { code: "duplicate_entry"; doorId: string; entryIndex: number; message: string }
  | { code: "linked_door_unknown" | "linked_door_not_common"; doorId: string; via: string; message: string };

export interface TargetDoors {
  targets: TargetDoor[];
  issues: TargetIssue[];
}

/**
 * Resolve a key's door entries into target doors. A door missing from `doors` stays a
 * target (its status will say not_commissioned) and is reported as an issue; an entry with a
 * bad window is left out and reported (the cloud boundary should have refused it).
 */
export function targetDoors(key: Pick<Key, "doors">, doors: ReadonlyMap<string, Door>, timezone: string): TargetDoors {
  const issues: TargetIssue[] = [];
  const direct = new Map<string, TargetDoor>();
  const entries: { entry: KeyDoorAccess; window: WindowBounds }[] = [];

  key.doors.forEach((entry, entryIndex) => {
    if (direct.has(entry.doorId)) {
      issues.push({ code: "duplicate_entry", doorId: entry.doorId, entryIndex, message: `door ${entry.doorId} appears twice in the key; the first entry is used` });
      return;
    }
    const w = accessWindow(entry, timezone);
    if (!w.ok) {
      issues.push({ code: "invalid_window", doorId: entry.doorId, entryIndex, error: w.error, message: `doors[${entryIndex}].${w.error.field}: ${w.error.message}` });
      return;
    }
    const window = { validFrom: w.value.validFrom, validUntil: w.value.validUntil };
    if (!doors.has(entry.doorId)) {
      issues.push({ code: "unknown_door", doorId: entry.doorId, message: `door ${entry.doorId} is not known to the hub (no door.upsert yet)` });
    }
    direct.set(entry.doorId, { doorId: entry.doorId, linked: false, window, allowProvisioning: entry.allowProvisioning, via: [] });
    entries.push({ entry, window });
  });

  // Linked doors: gather every contribution first, then merge.
  const linked = new Map<string, { window: WindowBounds; allowProvisioning: boolean; via: string[]; allowedWindow?: WindowBounds }>();
  for (const { entry, window } of entries) {
    if (!entry.allowLinkedDoorsAccess) continue;
    const room = doors.get(entry.doorId);
    if (!room) continue;
    for (const linkedId of room.linkedDoorIds) {
      const common = doors.get(linkedId);
      if (!common) {
        issues.push({ code: "linked_door_unknown", doorId: linkedId, via: room.doorId, message: `room ${room.doorId} links to unknown door ${linkedId}` });
        continue;
      }
      if (common.kind !== "common") {
        issues.push({ code: "linked_door_not_common", doorId: linkedId, via: room.doorId, message: `room ${room.doorId} links to ${linkedId}, which is not a common door; ignored` });
        continue;
      }
      if (direct.has(linkedId)) continue;
      const prev = linked.get(linkedId);
      if (!prev) {
        linked.set(linkedId, {
          window,
          allowProvisioning: entry.allowProvisioning,
          via: [room.doorId],
          ...(entry.allowProvisioning ? { allowedWindow: window } : {}),
        });
        continue;
      }
      prev.window = unionSpan(prev.window, window);
      prev.allowProvisioning ||= entry.allowProvisioning;
      if (!prev.via.includes(room.doorId)) prev.via.push(room.doorId);
      if (entry.allowProvisioning) prev.allowedWindow = prev.allowedWindow ? unionSpan(prev.allowedWindow, window) : window;
    }
  }

  const targets: TargetDoor[] = [...direct.values()];
  for (const [doorId, l] of linked) {
    // Only the rooms that allow provisioning may put credentials on the shared lock, so the
    // window is theirs alone when there are any.
    targets.push({ doorId, linked: true, window: l.allowedWindow ?? l.window, allowProvisioning: l.allowProvisioning, via: l.via });
  }
  return { targets, issues };
}

/**
 * The common doors a room links to that a key does NOT reach because the room's entry has
 * allowLinkedDoorsAccess off (diagnosis: "common area door not accessible").
 */
export function unreachedLinkedDoors(key: Pick<Key, "doors">, doors: ReadonlyMap<string, Door>): { roomId: string; doorId: string }[] {
  const reached = new Set<string>(key.doors.map((e) => e.doorId));
  for (const e of key.doors) {
    if (e.allowLinkedDoorsAccess) for (const id of doors.get(e.doorId)?.linkedDoorIds ?? []) reached.add(id);
  }
  const out: { roomId: string; doorId: string }[] = [];
  for (const e of key.doors) {
    if (e.allowLinkedDoorsAccess) continue;
    for (const id of doors.get(e.doorId)?.linkedDoorIds ?? []) {
      if (!reached.has(id) && !out.some((o) => o.doorId === id)) out.push({ roomId: e.doorId, doorId: id });
    }
  }
  return out;
}

/** The first bad window of a key as a payload path ("doors[1].arrivalTime"), for command validation. */
export function firstWindowError(key: Pick<Key, "doors">, timezone: string): { path: string; error: WindowError } | undefined {
  for (const [i, entry] of key.doors.entries()) {
    const w = accessWindow(entry, timezone);
    if (!w.ok) return { path: w.error.field === "timezone" ? "timezone" : `doors[${i}].${w.error.field}`, error: w.error };
  }
  return undefined;
}
