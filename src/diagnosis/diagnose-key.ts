/**
 * diagnoseKey: explain a key to staff. Covers every situation of the portal troubleshooting
 * article (numbers refer to it):
 *  1 smart key ready but guest cannot unlock   -> smart_key_ready (app activation, Bluetooth)
 *  2 door code enabled but none assigned       -> door_code_waiting_for_lock / door_code_unavailable
 *  3 wrong keycard                             -> keycard_assigned (keycard.replace, unused cards)
 *  4 door access at the wrong time             -> access_window (local + UTC), DST notes, clock drift
 *  5 door pending provisioning                 -> provisioning_disabled / lock_offline / not_commissioned
 *  6 PMS key exists but not active             -> not_checked_in (+ provisioning, lock)
 *  7 common area door not accessible           -> linked_doors_access_off
 *  8 PMS keeps overwriting door settings       -> pms_changed_settings / pms_can_change_settings / pms_updates_blocked
 *  9 credential allocation failed (PMS key)    -> credential_type_disabled / lock_offline / door_code_unavailable / keycard_unavailable
 */
import { targetDoors, unreachedLinkedDoors } from "../access/linked-doors.js";
import type { CredentialType, Door, DoorStatus, KeyDoorAccess } from "../access/model.js";
import { accessWindow, describeWindow } from "../access/windows.js";
import { lockHealthFindings, replacedLockFinding } from "./lock-health.js";
import { finding, sortFindings, type Finding } from "./findings.js";
import type { DiagnosisLock, KeyDiagnosisSnapshot } from "./snapshot.js";
import { formatInstant } from "../shared/instant.js";

const TYPE_NAME: Record<CredentialType, string> = { doorCode: "Door Code", keycard: "Keycard", smartKey: "Smart Key" };
/** Drift beyond which a lock opens noticeably early or late. */
export const CLOCK_DRIFT_WARN_S = 60;

interface Ctx {
  s: KeyDiagnosisSnapshot;
  doors: Map<string, Door>;
  locks: Map<string, DiagnosisLock>;
  /** door -> the key entries (index) that reach it: its own entry, or the rooms linking it. */
  entriesFor: Map<string, number[]>;
  out: Finding[];
}

export function diagnoseKey(s: KeyDiagnosisSnapshot): Finding[] {
  const doors = new Map(s.doors.map((d) => [d.doorId, d]));
  const ctx: Ctx = { s, doors, locks: new Map(s.locks.map((l) => [l.lockId, l])), entriesFor: new Map(), out: [] };
  const { key } = s;

  if (s.lifecycle.removed || (s.lifecycle.checkedOut && !key.checkedIn)) {
    const why = s.lifecycle.removed ? "was removed" : "was checked out";
    const pending = s.status.doors.filter((d) => d.state === "revoking");
    ctx.out.push(
      finding(
        "key_revoked",
        "info",
        undefined,
        `Key ${key.keyId} ${why}: its credentials are ${pending.length > 0 ? `being removed from ${pending.map((d) => d.doorId).join(", ")}` : "removed from every lock"}.`,
        s.lifecycle.removed ? "Nothing to fix. For a new stay create a new key (key.upsert)." : "Nothing to fix. If the check-out was a mistake, check the guest in again (key.checkin checkedIn: true).",
      ),
    );
    for (const d of pending) lockFindings(ctx, d);
    return sortFindings(ctx.out);
  }

  const { targets, issues } = targetDoors(key, doors, s.site.timezone);
  key.doors.forEach((e, i) => ctx.entriesFor.set(e.doorId, [i]));
  for (const t of targets) {
    if (t.linked) ctx.entriesFor.set(t.doorId, t.via.map((room) => key.doors.findIndex((e) => e.doorId === room)).filter((i) => i >= 0));
  }
  for (const issue of issues) {
    if (issue.code === "unknown_door") {
      ctx.out.push(finding("unknown_door", "error", issue.doorId, `Door ${issue.doorId} of this key is not known to the hub.`, `Send door.upsert for ${issue.doorId} (with its lockId), or remove it from the key (key.upsert doors).`));
    } else if (issue.code === "invalid_window") {
      ctx.out.push(finding("invalid_window", "error", issue.doorId, `The access time of door ${issue.doorId} is invalid: ${issue.message}.`, `Edit door: correct doors[${issue.entryIndex}].${issue.error.field} (key.upsert).`));
    } else if (issue.code === "linked_door_unknown" || issue.code === "linked_door_not_common") {
      ctx.out.push(finding("linked_door_invalid", "warning", issue.doorId, issue.message + ".", `Fix the room's linkedDoorIds (door.upsert ${issue.via}): only known common doors can be linked.`));
    }
  }

  // 6: PMS key not active.
  if (!key.checkedIn) {
    ctx.out.push(
      finding(
        "not_checked_in",
        "warning",
        undefined,
        `${key.source === "pms" ? "The PMS reservation" : "The key"} is not checked in: no credential goes to any lock until check-in.`,
        `Confirm check-in in the PMS${key.pms ? ` (${key.pms.provider} reservation ${key.pms.reservationId})` : ""} or the Portal: key.checkin {keyId: "${key.keyId}", checkedIn: true}. Provisioning then starts at once.`,
      ),
    );
  }

  for (const d of s.status.doors) doorFindings(ctx, d);
  windowFindings(ctx);
  linkedFindings(ctx);
  credentialFindings(ctx);
  pmsFindings(ctx);

  if (!ctx.out.some((f) => f.severity !== "info") && s.status.state === "active") {
    ctx.out.push(finding("key_ready", "info", undefined, `Key ${key.keyId} is active on every door.`, "Nothing to fix."));
  }
  return sortFindings(ctx.out);
}

/** The key.upsert field path(s) that set `field` for a door: its own entry, or the entries of the rooms linking it. */
function entryPath(ctx: Ctx, doorId: string, field: keyof KeyDoorAccess, value?: string): string {
  const idx = ctx.entriesFor.get(doorId) ?? [];
  const rooms = idx.map((i) => ctx.s.key.doors[i]?.doorId).filter((x): x is string => x !== undefined);
  const assign = value === undefined ? "" : ` = ${value}`;
  const paths = idx.length > 0 ? idx.map((i) => `doors[${i}].${field}${assign}`).join(", ") : `doors[].${field}${assign}`;
  return rooms.length > 0 && !rooms.includes(doorId) ? `${paths} (room ${rooms.join(", ")})` : paths;
}

function lockOf(ctx: Ctx, doorId: string): { lockId: string | null; lock: DiagnosisLock | undefined } {
  const lockId = ctx.doors.get(doorId)?.lockId ?? null;
  return { lockId, lock: lockId === null ? undefined : ctx.locks.get(lockId) };
}

function lockFindings(ctx: Ctx, d: DoorStatus): void {
  const { lockId, lock } = lockOf(ctx, d.doorId);
  if (lock?.commissioned && !lock.replaced) ctx.out.push(...lockHealthFindings(lock, d.doorId));
  if (!d.reasons.includes("lock_offline")) return;
  const what = d.state === "revoking" ? "its removal is applied" : "pending credentials are applied";
  ctx.out.push(
    finding(
      "lock_offline",
      "error",
      d.doorId,
      `Lock ${lockId ?? "?"} of door ${d.doorId} is offline${lock?.link ? ` (${lock.link})` : ""}.`,
      `Confirm the lock is installed, powered and reachable; ${what} automatically as soon as it answers again.`,
    ),
  );
}

function doorFindings(ctx: Ctx, d: DoorStatus): void {
  const door = d.doorId;
  const { lockId } = lockOf(ctx, door);
  const linkedNote = d.linked ? " (linked common door)" : "";
  lockFindings(ctx, d);
  for (const reason of d.reasons) {
    switch (reason) {
      case "provisioning_disabled":
        // 5 / 6: Allow Provisioning unchecked.
        ctx.out.push(
          finding(
            "provisioning_disabled",
            "warning",
            door,
            `Allow Provisioning is off for door ${door}${linkedNote}: nothing is sent to its lock, the door stays pending.`,
            `Edit door -> enable Allow Provisioning: key.upsert with ${entryPath(ctx, door, "allowProvisioning", "true")}.`,
          ),
        );
        break;
      case "not_commissioned":
        ctx.out.push(
          lockId === null
            ? finding("not_commissioned", "error", door, `Door ${door} has no lock.`, `Install and commission a lock (lock.commission), then link it to the door (door.upsert ${door} lockId).`)
            : lockOf(ctx, door).lock?.replaced
              ? replacedLockFinding(lockOf(ctx, door).lock!, door)
              : finding("not_commissioned", "error", door, `Lock ${lockId} of door ${door} is not commissioned.`, `Commission it (lock.commission lockId ${lockId} with its profile and link).`),
        );
        break;
      case "access_period_ended":
        ctx.out.push(finding("access_period_ended", "warning", door, `The access period for door ${door} has ended; its credentials were removed from the lock.`, `Edit door: extend Access Period / Departure Time (key.upsert ${entryPath(ctx, door, "accessPeriod")}).`));
        break;
      case "lock_memory_full":
        ctx.out.push(finding("lock_memory_full", "error", door, `Lock ${lockId ?? "?"} of door ${door} has no free credential slot for this key.`, "Remove keys no longer needed on this door (key.remove; keys whose stay has ended free their slots automatically), or disable a credential type for this key, or install a lock model with more slots."));
        break;
      case "not_supported":
        ctx.out.push(finding("not_supported", "error", door, `Lock ${lockId ?? "?"} of door ${door} does not support a credential type this key uses.`, "Disable that credential type for this key (key.upsert doorCode/keycard/smartKey enabled: false) and use one the lock supports."));
        break;
      case "lock_rejected":
        ctx.out.push(finding("lock_rejected", "error", door, `Lock ${lockId ?? "?"} of door ${door} refused a credential of this key.`, "Regenerate or replace the credential (doorcode.regenerate / keycard.replace); if it persists, check the lock's events and firmware."));
        break;
      default:
        // not_checked_in, lock_offline: reported once above; credential reasons: under credentials;
        // access_period_not_started: under access times.
        break;
    }
  }
  if (d.state === "pending" && d.reasons.length === 0) {
    ctx.out.push(finding("provisioning_in_progress", "info", door, `Credentials are being written to door ${door}'s lock.`, "Nothing to fix; the door turns active once the lock's table is verified."));
  }
}

function windowFindings(ctx: Ctx): void {
  const { s } = ctx;
  const tz = s.site.timezone;
  s.key.doors.forEach((entry, i) => {
    const w = accessWindow(entry, tz);
    if (!w.ok) return;
    const desc = describeWindow(w.value, tz);
    const status = s.status.doors.find((d) => d.doorId === entry.doorId);
    // 4: staff see the computed window in local time and UTC.
    ctx.out.push(
      finding(
        "access_window",
        "info",
        entry.doorId,
        `Door ${entry.doorId} opens for this key from ${desc.localFrom} to ${desc.localUntil} ${tz} (UTC ${desc.utcFrom} to ${desc.utcUntil}); entered as ${entry.accessPeriod.from} ${entry.arrivalTime} to ${entry.accessPeriod.to} ${entry.departureTime}.`,
        `If this is the wrong time: Edit door -> Access Period, Arrival Time, Departure Time (key.upsert doors[${i}].accessPeriod / arrivalTime / departureTime). Times are local to the site (${tz}; site.configure timezone).`,
      ),
    );
    const dst: string[] = [];
    if (w.value.arrival === "gap_shifted") dst.push(`arrival ${entry.arrivalTime} does not exist on ${entry.accessPeriod.from} (clocks jump forward); the door opens at the end of the gap, ${desc.localFrom}`);
    if (w.value.arrival === "overlap_earlier") dst.push(`arrival ${entry.arrivalTime} occurs twice on ${entry.accessPeriod.from} (clocks fall back); the earlier one is used`);
    if (w.value.departure === "gap_shifted") dst.push(`departure ${entry.departureTime} does not exist on ${entry.accessPeriod.to}; access ends at ${desc.localUntil}`);
    if (w.value.departure === "overlap_later") dst.push(`departure ${entry.departureTime} occurs twice on ${entry.accessPeriod.to}; the later one is used`);
    if (dst.length > 0) {
      ctx.out.push(finding("access_time_dst_adjusted", "info", entry.doorId, `Daylight saving change: ${dst.join("; ")}.`, `Nothing to fix unless another time is wanted (key.upsert doors[${i}].arrivalTime / departureTime).`));
    }
    if (status?.reasons.includes("access_period_not_started")) {
      ctx.out.push(finding("access_period_not_started", "info", entry.doorId, `Access to door ${entry.doorId} starts at ${desc.localFrom}; the credential is already on the lock and opens from then.`, `Nothing to fix; to let the guest in earlier change doors[${i}].accessPeriod.from / arrivalTime (key.upsert).`));
    }
  });
  // A lock whose clock is off opens at the wrong time whatever the window says.
  for (const d of s.status.doors) {
    const { lockId, lock } = lockOf(ctx, d.doorId);
    const drift = lock?.clockDriftS;
    if (drift !== undefined && Math.abs(drift) >= CLOCK_DRIFT_WARN_S) {
      ctx.out.push(
        finding(
          "lock_clock_drift",
          "warning",
          d.doorId,
          `Lock ${lockId ?? "?"} of door ${d.doorId} runs ${Math.abs(drift)} s ${drift > 0 ? "ahead" : "behind"}: it opens and closes access at the wrong time.`,
          "The hub resets lock clocks on drift and daily while the lock is online; if it keeps drifting, check the lock's clock battery.",
        ),
      );
    }
  }
}

function linkedFindings(ctx: Ctx): void {
  // 7: common door linked to the room but not reachable.
  for (const { roomId, doorId } of unreachedLinkedDoors(ctx.s.key, ctx.doors)) {
    const i = ctx.s.key.doors.findIndex((e) => e.doorId === roomId);
    ctx.out.push(
      finding(
        "linked_doors_access_off",
        "info",
        doorId,
        `Common door ${doorId} is linked to room ${roomId}, but Allow Linked Doors Access is off for that room: this key does not open it.`,
        `Edit door ${roomId} -> enable Allow Linked Doors Access: key.upsert with doors[${i}].allowLinkedDoorsAccess = true.`,
      ),
    );
  }
}

function credentialFindings(ctx: Ctx): void {
  const { s } = ctx;
  const { key, status, site } = s;
  const enabled = (["doorCode", "keycard", "smartKey"] as const).filter((t) => key[t].enabled);
  if (enabled.length === 0) {
    ctx.out.push(finding("no_credentials_enabled", "warning", undefined, "No credential (Door Code, Keycard, Smart Key) is enabled on this key: it opens nothing.", "Enable at least one: key.upsert doorCode/keycard/smartKey enabled: true."));
  }
  // 9: credential type disabled in Customization.
  for (const t of enabled) {
    if (!site.credentialTypes[t]) {
      ctx.out.push(
        finding("credential_type_disabled", "error", undefined, `${TYPE_NAME[t]} is disabled for the site (Customization): this key's ${TYPE_NAME[t]} is not issued.`, `Enable it in Customization: site.configure with credentialTypes.${t} = true.`),
      );
    }
  }
  const offlineDoors = status.doors.filter((d) => d.reasons.includes("lock_offline")).map((d) => d.doorId);

  // 2 / 9: door code.
  const dc = status.doorCode;
  if (dc.state === "unassigned" && dc.reason === "lock_offline") {
    ctx.out.push(
      finding(
        "door_code_waiting_for_lock",
        "error",
        undefined,
        `Door Code is enabled but no code is assigned yet: the lock${offlineDoors.length > 1 ? "s" : ""} of ${offlineDoors.join(", ") || "its doors"} ${offlineDoors.length > 1 ? "are" : "is"} offline.`,
        "Bring the lock online; the code is delivered automatically when it answers. If it still shows no code, regenerate it once the lock is online (doorcode.regenerate, assignment random recommended).",
      ),
    );
  } else if (dc.state === "unassigned" && dc.reason === "code_unavailable") {
    const detail = s.doorCode?.state === "unavailable" ? s.doorCode.reason : undefined;
    const policy = key.doorCode.assignment;
    const why: Record<string, string> = {
      in_use: "the requested code is already used on a lock of this key",
      trivial: "the requested code is too easy to guess",
      cooling_off: "the requested code was revoked recently (cooling-off period)",
      length_out_of_range: "the requested code's length is not accepted by every lock of this key",
      invalid_format: "the requested code is not digits only",
      no_requested_code: "no code was given",
      no_common_length: "the locks of this key accept no common code length",
      exhausted: "no free code is left on the locks of this key",
    };
    const fix =
      detail === "no_common_length"
        ? "Give this key doors whose locks share a code length, or disable Door Code for it (key.upsert doorCode.enabled false)."
        : policy === "random"
          ? "Regenerate the code (doorcode.regenerate); if the locks are crowded, a longer site code length helps (site.configure doorCodeLength)."
          : `Open the Doorcode card: switch Assignment to Random (recommended) or request another code, then Update — doorcode.regenerate {keyId: "${key.keyId}", assignment: "random"}.`;
    ctx.out.push(
      finding("door_code_unavailable", "error", undefined, `Door Code is enabled but no code is assigned: ${detail ? why[detail] ?? detail : "no code is available"}${policy !== "random" ? ` (assignment ${policy})` : ""}.`, fix),
    );
  } else if (dc.state === "failed") {
    ctx.out.push(finding("door_code_failed", "error", undefined, `The door code could not be written to a lock (${dc.reason ?? "refused"}).`, "See the door findings for the lock; then regenerate the code (doorcode.regenerate) once the cause is fixed."));
  }

  // 3 / 9: keycard.
  const kc = status.keycard;
  const unused = s.unusedKeycards;
  const replaceFix = `Open the Keycard card -> Replace -> pick another card: keycard.replace {keyId: "${key.keyId}", cardId}. keycards.list {forKeyId: "${key.keyId}"} shows this key's card first, then only unused cards${unused !== undefined ? ` (${unused} unused)` : ""}.`;
  if (kc.state === "assigned") {
    ctx.out.push(finding("keycard_assigned", "info", undefined, `Keycard ${kc.cardId ?? "?"}${s.keycardLabel ? ` ("${s.keycardLabel}")` : ""} is assigned to this key.`, `If it is the wrong card: ${replaceFix}`));
  } else if (kc.state === "unassigned" && kc.reason === "keycard_unavailable") {
    const a = s.keycard;
    const detail =
      a?.state === "unassigned"
        ? a.detail === "keycard_in_use"
          ? `card ${key.keycard.cardId ?? "?"} is assigned to key ${a.heldBy ?? "?"}`
          : a.detail === "unknown_keycard"
            ? `card ${key.keycard.cardId ?? "?"} is not in the inventory`
            : "no card was selected"
        : "the card is not available";
    ctx.out.push(finding("keycard_unavailable", "error", undefined, `Keycard is enabled but not assigned: ${detail}.`, replaceFix));
  } else if (kc.state === "unassigned" && kc.reason === "lock_offline") {
    const card = kc.cardId === undefined ? "Keycard" : `Keycard ${kc.cardId}`;
    ctx.out.push(finding("keycard_unavailable", "error", undefined, `${card} is not on any lock yet: the locks of ${offlineDoors.join(", ")} are offline.`, "Bring the lock online; the card is written automatically when it answers. Replace the card (keycard.replace) if it still fails."));
  } else if (kc.state === "failed") {
    ctx.out.push(finding("keycard_failed", "error", undefined, `The keycard could not be written to a lock (${kc.reason ?? "refused"}).`, `Fix the lock (see the door findings), or ${replaceFix}`));
  }
  if (key.keycard.enabled && site.credentialTypes.keycard && unused === 0 && kc.state !== "assigned") {
    ctx.out.push(finding("no_unused_keycards", "warning", undefined, "The keycard inventory has no unused card to assign.", "Add cards to the inventory (keycards.upsert), or free one by checking out / removing the key holding it."));
  }

  // 1: smart key.
  const sk = status.smartKey;
  if (sk.state === "ready") {
    ctx.out.push(
      finding(
        "smart_key_ready",
        "info",
        undefined,
        "Smart Key is ready to use: it is on every door's lock. If the guest cannot unlock, the issue is usually guest activation, not the key.",
        "Check with the guest: the Portal Keys app is open, activation is completed (activation code or reference number), and Bluetooth is on near the door.",
      ),
    );
  } else if (sk.state === "pending" && sk.reason === "awaiting_public_key") {
    ctx.out.push(finding("smart_key_not_activated", "warning", undefined, "Smart Key is enabled but the guest's app has not been activated yet (no mobile key received).", "Ask the guest to open the Portal Keys app and complete activation (activation code or reference number); the mobile key is then sent (key.upsert smartKey.publicKey) and provisioned."));
  } else if (sk.state === "pending" && sk.reason !== "not_checked_in") {
    ctx.out.push(finding("smart_key_pending", "warning", undefined, `Smart Key is not on every door's lock yet${sk.reason === "lock_offline" ? ": a lock is offline" : ""}.`, "It becomes ready once every door's lock holds it; see the door findings (lock online, Allow Provisioning)."));
  } else if (sk.state === "failed") {
    const invalid = sk.reason === "invalid_public_key";
    ctx.out.push(
      finding(
        invalid ? "smart_key_invalid" : "smart_key_failed",
        "error",
        undefined,
        invalid ? "The Smart Key's public key is not a valid 32-byte Ed25519 key." : `The Smart Key could not be written to a lock (${sk.reason ?? "refused"}).`,
        invalid ? "Have the guest re-activate the app so a valid key is sent (key.upsert smartKey.publicKey, base64 of 32 bytes)." : "See the door findings for the lock; use a door code or keycard on locks without mobile-key support.",
      ),
    );
  }
}

function pmsFindings(ctx: Ctx): void {
  const { s } = ctx;
  const history = s.settingsHistory ?? [];
  if (s.key.source !== "pms" && !history.some((h) => h.source === "pms")) return;
  const seen = new Set<string>();
  for (const entry of s.key.doors) {
    const door = ctx.doors.get(entry.doorId);
    if (!door || seen.has(door.doorId)) continue;
    seen.add(door.doorId);
    const pms = history.filter((h) => h.source === "pms" && h.doorId === door.doorId);
    const applied = pms.filter((h) => h.applied);
    const blocked = pms.filter((h) => !h.applied);
    const fields = (list: typeof pms): string => [...new Set(list.flatMap((h) => h.fields))].join(", ");
    const when = (list: typeof pms): string => formatInstant(Math.max(...list.map((h) => h.atMs)));
    const protectFix = `Update Portal Room -> enable Protect Configuration: door.upsert {doorId: "${door.doorId}", protectConfiguration: true}. Third-party apps then cannot modify its door access settings.`;
    if (door.protectConfiguration) {
      if (blocked.length > 0) {
        ctx.out.push(
          finding(
            "pms_updates_blocked",
            "info",
            door.doorId,
            `Protect Configuration is on for ${door.doorId}: ${blocked.length} PMS update(s) to ${fields(blocked)} were not applied (last ${when(blocked)}).`,
            "Change these settings manually (Edit door, a manual key.upsert); turn Protect Configuration off (door.upsert protectConfiguration: false) to let the PMS change them.",
          ),
        );
      } else {
        ctx.out.push(finding("protect_configuration_on", "info", door.doorId, `Protect Configuration is on for ${door.doorId}: the PMS cannot change its door access settings.`, "Nothing to fix; manual changes still apply."));
      }
    } else if (applied.length > 0) {
      ctx.out.push(finding("pms_changed_settings", "warning", door.doorId, `The PMS changed ${fields(applied)} for ${door.doorId} (${applied.length} update(s), last ${when(applied)}).`, protectFix));
    } else if (s.key.source === "pms") {
      ctx.out.push(finding("pms_can_change_settings", "info", door.doorId, `PMS updates may change the door access settings of ${door.doorId} (Protect Configuration is off).`, protectFix));
    }
  }
}
