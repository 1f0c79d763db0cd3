/**
 * diagnoseDoor: explain a door — its lock (installed, commissioned, online, clock, memory),
 * its links (a room's common doors, a common door's rooms), Protect Configuration, and the
 * keys that do not work on it, grouped by reason (a lobby can serve thousands of keys).
 */
import type { DoorState } from "../access/model.js";
import { CLOCK_DRIFT_WARN_S } from "./diagnose-key.js";
import { finding, sortFindings, type Finding } from "./findings.js";
import { lockHealthFindings, replacedLockFinding } from "./lock-health.js";
import type { DoorDiagnosisSnapshot } from "./snapshot.js";

/** Share of used slots from which a lock is reported as nearly full. */
export const MEMORY_LOW_SHARE = 0.9;
/** Key ids named in a grouped finding. */
const SAMPLE = 5;

export function diagnoseDoor(s: DoorDiagnosisSnapshot): Finding[] {
  const out: Finding[] = [];
  const doors = new Map(s.doors.map((d) => [d.doorId, d]));
  const door = doors.get(s.doorId);
  if (!door) {
    return [finding("unknown_door", "error", s.doorId, `Door ${s.doorId} is not known to the hub.`, `Send door.upsert for ${s.doorId}.`)];
  }
  const lock = door.lockId === null ? undefined : s.locks.find((l) => l.lockId === door.lockId);

  if (door.lockId === null) {
    out.push(finding("not_commissioned", "error", door.doorId, `Door ${door.doorId} has no lock: no key works on it.`, `Install and commission a lock (lock.commission), then link it: door.upsert {doorId: "${door.doorId}", lockId}.`));
  } else if (lock?.replaced) {
    out.push(replacedLockFinding(lock, door.doorId));
  } else if (!lock || !lock.commissioned) {
    out.push(finding("not_commissioned", "error", door.doorId, `Lock ${door.lockId} of door ${door.doorId} is not commissioned.`, `Commission it: lock.commission {lockId: "${door.lockId}", profile, link}.`));
  } else {
    if (!lock.online) {
      out.push(finding("lock_offline", "error", door.doorId, `Lock ${lock.lockId} of door ${door.doorId} is offline${lock.link ? ` (${lock.link})` : ""}.`, "Confirm the lock is installed, powered and reachable; pending credentials are applied automatically when it answers again."));
    }
    out.push(...lockHealthFindings(lock, door.doorId));
    if (lock.clockDriftS !== undefined && Math.abs(lock.clockDriftS) >= CLOCK_DRIFT_WARN_S) {
      out.push(finding("lock_clock_drift", "warning", door.doorId, `Lock ${lock.lockId} runs ${Math.abs(lock.clockDriftS)} s ${lock.clockDriftS > 0 ? "ahead" : "behind"}: access starts and ends at the wrong time.`, "The hub resets lock clocks on drift and daily while online; if it keeps drifting, check the lock's clock battery."));
    }
    for (const [kind, use] of Object.entries(lock.slots ?? {})) {
      if (!use || use.total <= 0) continue;
      if (use.used >= use.total) {
        out.push(finding("lock_memory_full", "error", door.doorId, `Lock ${lock.lockId} has no free ${kind} slot (${use.used}/${use.total}).`, "Remove keys no longer needed on this door (key.remove), or install a lock model with more slots."));
      } else if (use.used >= MEMORY_LOW_SHARE * use.total) {
        out.push(finding("lock_memory_low", "warning", door.doorId, `Lock ${lock.lockId} is nearly full for ${kind} (${use.used}/${use.total}).`, "Plan for it: remove keys no longer needed, or use a lock model with more slots on busy common doors."));
      }
    }
  }

  // Links.
  if (door.kind === "room") {
    for (const id of door.linkedDoorIds) {
      const linked = doors.get(id);
      if (!linked || linked.kind !== "common") {
        out.push(finding("linked_door_invalid", "warning", door.doorId, `Room ${door.doorId} links to ${id}, which is ${linked ? "not a common door" : "unknown"}: ignored.`, `Fix linkedDoorIds: door.upsert {doorId: "${door.doorId}", linkedDoorIds} with common doors only.`));
      }
    }
  } else {
    const rooms = s.doors.filter((d) => d.linkedDoorIds.includes(door.doorId)).map((d) => d.doorId);
    out.push(
      finding(
        "linked_rooms",
        "info",
        door.doorId,
        rooms.length > 0 ? `Common door ${door.doorId} is linked to ${rooms.length} room(s): ${rooms.slice(0, 10).join(", ")}${rooms.length > 10 ? ", ..." : ""}.` : `Common door ${door.doorId} is linked to no room.`,
        "Guests of a linked room open it when their key's door entry has Allow Linked Doors Access (key.upsert doors[].allowLinkedDoorsAccess = true).",
      ),
    );
  }

  // Protect Configuration.
  const keys = s.keys ?? [];
  if (door.protectConfiguration) {
    out.push(finding("protect_configuration_on", "info", door.doorId, `Protect Configuration is on for ${door.doorId}: PMS updates cannot change its door access settings.`, "Nothing to fix; manual changes still apply. door.upsert protectConfiguration: false lets the PMS change them."));
  } else if (door.kind === "room" && keys.some((k) => k.key.source === "pms")) {
    out.push(finding("pms_can_change_settings", "info", door.doorId, `PMS updates may change the door access settings of ${door.doorId} (Protect Configuration is off).`, `If the PMS keeps overwriting them: door.upsert {doorId: "${door.doorId}", protectConfiguration: true}.`));
  }

  // Keys that do not work here, grouped by state and reason.
  const groups = new Map<string, { state: DoorState; reasons: string[]; keyIds: string[] }>();
  for (const { status } of keys) {
    const d = status.doors.find((x) => x.doorId === door.doorId);
    if (!d || (d.state !== "failed" && d.state !== "pending")) continue;
    const id = `${d.state}|${d.reasons.join(",")}`;
    const g = groups.get(id) ?? { state: d.state, reasons: d.reasons, keyIds: [] };
    g.keyIds.push(status.keyId);
    groups.set(id, g);
  }
  for (const g of groups.values()) {
    const names = `${g.keyIds.slice(0, SAMPLE).join(", ")}${g.keyIds.length > SAMPLE ? `, and ${g.keyIds.length - SAMPLE} more` : ""}`;
    const reasons = g.reasons.length > 0 ? g.reasons.join(", ") : "being written";
    out.push(
      g.state === "failed"
        ? finding("door_keys_failed", "error", door.doorId, `${g.keyIds.length} key(s) failed on this door (${reasons}): ${names}.`, "Diagnose each key (diagnose keyId) for the fix of its reason.")
        : finding("door_keys_pending", "warning", door.doorId, `${g.keyIds.length} key(s) pending on this door (${reasons}): ${names}.`, g.reasons.includes("lock_offline") ? "Bring the lock online; they are applied automatically." : "Diagnose a key (diagnose keyId) for the fix of its reason."),
    );
  }

  if (!out.some((f) => f.severity !== "info")) {
    out.push(finding("door_ok", "info", door.doorId, `Door ${door.doorId} and its lock are in order.`, "Nothing to fix."));
  }
  return sortFindings(out);
}
