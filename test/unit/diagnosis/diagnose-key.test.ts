/**
 * One test per scenario of the portal troubleshooting article (shared/seed/
 * portal-key-troubleshooting.txt), numbered as there. Statuses come from the real
 * deriveKeyStatus over lock facts, not hand-written, so the findings explain what the hub
 * would actually publish. Where the article gives a fix, applying it clears the finding.
 */
import { describe, expect, it } from "vitest";
import { applyKeyUpsert, doorSettingsChanges } from "../../../src/access/protect-config.js";
import { NEW_LIFECYCLE, type KeyLifecycle } from "../../../src/access/key-activation.js";
import type { KeycardAssignment } from "../../../src/access/keycards.js";
import type { Door, Key, Site } from "../../../src/access/model.js";
import { deriveKeyStatus, factsFromMaps, type CredentialFact, type DoorCodeOutcome } from "../../../src/access/status.js";
import { diagnoseKey, type DiagnosisLock, type Finding, type SettingsChangeRecord } from "../../../src/diagnosis/index.js";
import { makeDoor, makeEntry, makeKey, makePmsKey, makeSite } from "../../helpers/access-fixtures.js";

const NOW = Date.parse("2026-12-02T12:00:00Z"); // during the default stay (Dec 1-4)
const PUBKEY = Buffer.alloc(32, 3).toString("base64");
const ROOM = "lock-room-101";
const LOBBY = "lock-lobby";

interface World {
  site?: Site;
  doors?: Door[];
  key: Key;
  lifecycle?: KeyLifecycle;
  doorCode?: DoorCodeOutcome;
  keycard?: KeycardAssignment;
  locks?: Partial<Record<string, Partial<DiagnosisLock>>>;
  /** [lockId, type, fact]; default: everything the key wants verified on both locks. */
  facts?: [string, string, CredentialFact][];
  unusedKeycards?: number;
  keycardLabel?: string;
  history?: SettingsChangeRecord[];
  now?: number;
}

const defaultDoors = (): Door[] => [makeDoor("room-101", { linkedDoorIds: ["lobby"] }), makeDoor("lobby")];
const allVerified = (key: Key): [string, string, CredentialFact][] =>
  [ROOM, LOBBY].flatMap((l) => (["doorCode", "keycard", "smartKey"] as const).filter((t) => key[t].enabled).map((t) => [l, `${key.keyId}:${t}`, { state: "verified" }] as [string, string, CredentialFact]));

function diagnose(w: World): { findings: Finding[]; state: string } {
  const site = w.site ?? makeSite();
  const doors = w.doors ?? defaultDoors();
  const locks: DiagnosisLock[] = [ROOM, LOBBY].map((lockId) => ({ lockId, commissioned: true, online: true, ...w.locks?.[lockId] }));
  const lifecycle = w.lifecycle ?? NEW_LIFECYCLE;
  const doorCode = w.doorCode ?? { state: "assigned", code: "482916" };
  const keycard = w.keycard ?? { state: "unassigned", reason: "keycard_unavailable", detail: "no_card_selected" };
  const now = w.now ?? NOW;
  const status = deriveKeyStatus({
    site,
    doors: new Map(doors.map((d) => [d.doorId, d])),
    key: w.key,
    lifecycle,
    doorCode,
    keycard,
    facts: factsFromMaps(locks, w.facts ?? allVerified(w.key)),
    nowMs: now,
  });
  const findings = diagnoseKey({
    site,
    doors,
    locks,
    key: w.key,
    lifecycle,
    status,
    doorCode,
    keycard,
    ...(w.unusedKeycards !== undefined ? { unusedKeycards: w.unusedKeycards } : {}),
    ...(w.keycardLabel !== undefined ? { keycardLabel: w.keycardLabel } : {}),
    settingsHistory: w.history ?? [],
    nowMs: now,
  });
  return { findings, state: status.state };
}
const codes = (f: Finding[]): string[] => f.map((x) => x.code);
const find = (f: Finding[], code: string, doorId?: string): Finding | undefined => f.find((x) => x.code === code && (doorId === undefined || x.doorId === doorId));

describe("A. manual keys", () => {
  it("1. Smart Key enabled and ready, guest cannot unlock: activation and Bluetooth, not the key", () => {
    const key = makeKey("k1", { smartKey: { enabled: true, publicKey: PUBKEY } });
    const { findings, state } = diagnose({ key });
    expect(state).toBe("active");
    const f = find(findings, "smart_key_ready");
    expect(f?.severity).toBe("info");
    expect(f?.message).toMatch(/ready to use/);
    expect(f?.fix).toMatch(/Portal Keys app/);
    expect(f?.fix).toMatch(/activation/);
    expect(f?.fix).toMatch(/Bluetooth/);
    expect(findings.filter((x) => x.severity !== "info")).toEqual([]);

    // Not activated yet: the app never sent a mobile key.
    const waiting = diagnose({ key: makeKey("k1", { smartKey: { enabled: true } }) }).findings;
    expect(find(waiting, "smart_key_not_activated")?.fix).toMatch(/complete activation/);
  });

  it("2. Door Code enabled but no code assigned: lock offline -> regenerate when online", () => {
    const key = makeKey("k1");
    const offline = { [ROOM]: { online: false, link: "serial /dev/ttyUSB0 addr 3" }, [LOBBY]: { online: false } };
    const { findings } = diagnose({ key, locks: offline, facts: [] });
    const f = find(findings, "door_code_waiting_for_lock");
    expect(f?.severity).toBe("error");
    expect(f?.message).toMatch(/offline/);
    expect(f?.fix).toMatch(/doorcode\.regenerate/);
    expect(f?.fix).toMatch(/online/);
    expect(find(findings, "lock_offline", "room-101")?.message).toContain("serial /dev/ttyUSB0 addr 3");
    // Fix: the lock comes back and the hub delivers the code.
    expect(find(diagnose({ key }).findings, "door_code_waiting_for_lock")).toBeUndefined();
  });

  it("2. Door Code enabled but no code assigned: no code available for Strict/Preferred -> use Random", () => {
    const key = makeKey("k1", { doorCode: { enabled: true, assignment: "strict", code: "482916" } });
    const { findings, state } = diagnose({ key, doorCode: { state: "unavailable", reason: "in_use" }, facts: [] });
    expect(state).toBe("failed");
    const f = find(findings, "door_code_unavailable");
    expect(f?.severity).toBe("error");
    expect(f?.message).toMatch(/already used on a lock/);
    expect(f?.message).toMatch(/assignment strict/);
    expect(f?.fix).toMatch(/Random \(recommended\)/);
    expect(f?.fix).toContain('doorcode.regenerate {keyId: "k1", assignment: "random"}');
    // The requested code is never echoed back.
    expect(findings.map((x) => x.message + x.fix).join(" ")).not.toContain("482916");
  });

  it("3. Wrong keycard: the card is shown; replace it with an unused one", () => {
    const key = makeKey("k1", { keycard: { enabled: true, cardId: "c7" } });
    const card = { cardId: "c7", uid: "04a1b2c3d4", label: "Card 7" };
    const { findings } = diagnose({ key, keycard: { state: "assigned", card }, unusedKeycards: 12, keycardLabel: "Card 7" });
    const f = find(findings, "keycard_assigned");
    expect(f?.severity).toBe("info");
    expect(f?.message).toContain("c7");
    expect(f?.message).toContain("Card 7");
    expect(f?.fix).toContain('keycard.replace {keyId: "k1", cardId}');
    expect(f?.fix).toMatch(/this key's card first, then only unused cards \(12 unused\)/);
    expect(findings.map((x) => x.message).join(" ")).not.toContain("04a1b2c3d4");
  });

  it("4. Door access at the wrong time: the computed window in local time and UTC, DST and lock clock", () => {
    // Arrival 02:30 on the spring-forward night: does not exist in Prague.
    const key = makeKey("k1", { doors: [makeEntry("room-101", { accessPeriod: { from: "2026-03-29", to: "2026-03-31" }, arrivalTime: "02:30", allowLinkedDoorsAccess: false })] });
    const { findings } = diagnose({ key, now: Date.parse("2026-03-30T12:00:00Z"), locks: { [ROOM]: { clockDriftS: -420 } } });
    const w = find(findings, "access_window", "room-101");
    expect(w?.message).toContain("from 2026-03-29 03:00 (+02:00) to 2026-03-31 11:00 (+02:00) Europe/Prague");
    expect(w?.message).toContain("UTC 2026-03-29T01:00:00Z to 2026-03-31T09:00:00Z");
    expect(w?.message).toContain("entered as 2026-03-29 02:30 to 2026-03-31 11:00");
    expect(w?.fix).toMatch(/Edit door -> Access Period, Arrival Time, Departure Time/);
    expect(w?.fix).toContain("key.upsert doors[0].accessPeriod / arrivalTime / departureTime");
    expect(find(findings, "access_time_dst_adjusted")?.message).toMatch(/02:30 does not exist on 2026-03-29/);
    const drift = find(findings, "lock_clock_drift", "room-101");
    expect(drift?.severity).toBe("warning");
    expect(drift?.message).toMatch(/420 s behind/);
  });

  it("5. Door shows pending provisioning: Allow Provisioning unchecked, or lock offline", () => {
    const key = makeKey("k1", { doors: [makeEntry("room-101", { allowProvisioning: false, allowLinkedDoorsAccess: false })] });
    const { findings, state } = diagnose({ key, facts: [] });
    expect(state).toBe("pending");
    const f = find(findings, "provisioning_disabled", "room-101");
    expect(f?.severity).toBe("warning");
    expect(f?.fix).toContain("enable Allow Provisioning: key.upsert with doors[0].allowProvisioning = true");

    const offline = diagnose({ key: makeKey("k1", { doors: [makeEntry("room-101", { allowLinkedDoorsAccess: false })] }), facts: [], locks: { [ROOM]: { online: false } } });
    expect(offline.state).toBe("pending");
    expect(find(offline.findings, "lock_offline", "room-101")?.fix).toMatch(/installed, powered and reachable/);

    const noLock = diagnose({ key: makeKey("k1", { doors: [makeEntry("room-101", { allowLinkedDoorsAccess: false })] }), doors: [makeDoor("room-101", { lockId: null })], facts: [] });
    expect(find(noLock.findings, "not_commissioned", "room-101")?.fix).toMatch(/lock\.commission/);

    // Fix: Allow Provisioning on, lock online -> the door works.
    const fixed = diagnose({ key: makeKey("k1") });
    expect(fixed.state).toBe("active");
    expect(codes(fixed.findings)).toContain("key_ready");
  });
});

describe("B. PMS keys", () => {
  it("6. PMS key exists but is not active: not checked in, provisioning disabled, lock offline", () => {
    const key = makePmsKey("k1", { doors: [makeEntry("room-101", { allowProvisioning: false })] });
    const { findings, state } = diagnose({ key, facts: [], locks: { [ROOM]: { online: false } } });
    expect(state).toBe("inactive");
    const f = find(findings, "not_checked_in");
    expect(f?.fix).toContain('key.checkin {keyId: "k1", checkedIn: true}');
    expect(f?.fix).toContain("mews reservation res-k1");
    expect(find(findings, "provisioning_disabled", "room-101")?.fix).toContain("doors[0].allowProvisioning = true");
    expect(find(findings, "lock_offline", "room-101")).toBeDefined();
    // The linked lobby is held back by the room's Allow Provisioning too.
    expect(find(findings, "provisioning_disabled", "lobby")?.fix).toContain("doors[0].allowProvisioning = true (room room-101)");

    // Fix: checked in, provisioning on, lock online.
    const fixed = diagnose({ key: makePmsKey("k1", { checkedIn: true }) });
    expect(fixed.state).toBe("active");
    expect(fixed.findings.filter((x) => x.severity !== "info")).toEqual([]);
  });

  it("7. Common area door not accessible: Allow Linked Doors Access is off", () => {
    const key = makePmsKey("k1", { checkedIn: true, doors: [makeEntry("room-101", { allowLinkedDoorsAccess: false })] });
    const { findings, state } = diagnose({ key });
    expect(state).toBe("active"); // the room works
    const f = find(findings, "linked_doors_access_off", "lobby");
    // A configuration fact rather than a fault (staff may want it off): info, but always there.
    expect(f?.severity).toBe("info");
    expect(f?.message).toMatch(/linked to room room-101/);
    expect(f?.fix).toContain("enable Allow Linked Doors Access: key.upsert with doors[0].allowLinkedDoorsAccess = true");
    // Fix applied.
    expect(find(diagnose({ key: makePmsKey("k1", { checkedIn: true }) }).findings, "linked_doors_access_off")).toBeUndefined();
  });

  it("8. PMS keeps overwriting door settings: enable Protect Configuration; once on, PMS updates are blocked", () => {
    const staff = makePmsKey("k1", { checkedIn: true, doors: [makeEntry("room-101", { departureTime: "14:00" })] });
    const pmsUpdate = makePmsKey("k1", { version: 2, checkedIn: true, doors: [makeEntry("room-101", { departureTime: "11:00" })] });
    const at = Date.parse("2026-12-02T08:00:00Z");

    // Unprotected: the PMS change goes through and is recorded.
    const open = defaultDoors();
    const applied = applyKeyUpsert(staff, pmsUpdate, new Map(open.map((d) => [d.doorId, d])));
    const history: SettingsChangeRecord[] = doorSettingsChanges(staff, applied.key).map((c) => ({ atMs: at, source: "pms", doorId: c.doorId, fields: c.fields, applied: true }));
    const before = diagnose({ key: applied.key, doors: open, history }).findings;
    const f = find(before, "pms_changed_settings", "room-101");
    expect(f?.severity).toBe("warning");
    expect(f?.message).toContain("departureTime");
    expect(f?.message).toContain("2026-12-02T08:00:00Z");
    expect(f?.fix).toContain('door.upsert {doorId: "room-101", protectConfiguration: true}');

    // Fix: Protect Configuration on. The next PMS update is blocked with a warning and diagnosis says so.
    const protectedDoors = [makeDoor("room-101", { linkedDoorIds: ["lobby"], protectConfiguration: true }), makeDoor("lobby")];
    const blocked = applyKeyUpsert(staff, pmsUpdate, new Map(protectedDoors.map((d) => [d.doorId, d])));
    expect(blocked.key.doors[0]?.departureTime).toBe("14:00");
    expect(blocked.warnings.map((x) => x.code)).toEqual(["protected_configuration"]);
    const blockedHistory = blocked.warnings.map((x) => ({ atMs: at, source: "pms" as const, doorId: x.doorId, fields: x.fields, applied: false }));
    const after = diagnose({ key: blocked.key, doors: protectedDoors, history: blockedHistory }).findings;
    expect(find(after, "pms_changed_settings")).toBeUndefined();
    expect(find(after, "pms_updates_blocked", "room-101")?.message).toMatch(/1 PMS update\(s\) to departureTime were not applied/);

    // A PMS key on an unprotected room without history: staff are told PMS may change it.
    expect(find(diagnose({ key: staff, doors: open }).findings, "pms_can_change_settings", "room-101")).toBeDefined();
  });

  it("9. Credential allocation failed for a PMS key: type disabled, lock offline, Strict/Preferred unavailable", () => {
    const base = { checkedIn: true, keycard: { enabled: true, cardId: "c1" } } as const;

    // Credential type disabled in Customization.
    const disabledSite = makeSite({ credentialTypes: { doorCode: true, keycard: false, smartKey: true } });
    const t = diagnose({ key: makePmsKey("k1", base), site: disabledSite, keycard: { state: "assigned", card: { cardId: "c1", uid: "04a1b2c3", label: "c1" } } }).findings;
    expect(find(t, "credential_type_disabled")?.fix).toBe("Enable it in Customization: site.configure with credentialTypes.keycard = true.");

    // Lock offline: neither the code nor the card reached a lock.
    const o = diagnose({
      key: makePmsKey("k1", base),
      keycard: { state: "assigned", card: { cardId: "c1", uid: "04a1b2c3", label: "c1" } },
      facts: [],
      locks: { [ROOM]: { online: false }, [LOBBY]: { online: false } },
    }).findings;
    expect(codes(o)).toEqual(expect.arrayContaining(["door_code_waiting_for_lock", "keycard_unavailable", "lock_offline"]));

    // Preferred code unavailable (random fallback exhausted) and the card taken by another key.
    const p = diagnose({
      key: makePmsKey("k1", { ...base, doorCode: { enabled: true, assignment: "preferred", code: "730194" } }),
      doorCode: { state: "unavailable", reason: "exhausted" },
      keycard: { state: "unassigned", reason: "keycard_unavailable", detail: "keycard_in_use", heldBy: "k9" },
      unusedKeycards: 4,
      facts: [],
    }).findings;
    expect(find(p, "door_code_unavailable")?.fix).toContain("doorcode.regenerate");
    const card = find(p, "keycard_unavailable");
    expect(card?.message).toContain("card c1 is assigned to key k9");
    expect(card?.fix).toContain("keycard.replace");
    expect(card?.fix).toContain("(4 unused)");
    // No unused card left: say so.
    const none = diagnose({ key: makePmsKey("k1", base), keycard: { state: "unassigned", reason: "keycard_unavailable", detail: "keycard_in_use", heldBy: "k9" }, unusedKeycards: 0 }).findings;
    expect(find(none, "no_unused_keycards")?.fix).toContain("keycards.upsert");
  });
});

describe("other findings", () => {
  it("a checked-out key: revoked, nothing to fix", () => {
    const { findings } = diagnose({ key: makePmsKey("k1"), lifecycle: { removed: false, checkedOut: true }, facts: [] });
    expect(codes(findings)).toEqual(["key_revoked"]);
    expect(findings[0]?.message).toMatch(/checked out/);
  });

  it("errors come first", () => {
    const { findings } = diagnose({ key: makeKey("k1"), facts: [], locks: { [ROOM]: { online: false }, [LOBBY]: { online: false } } });
    const sev = findings.map((f) => f.severity);
    expect([...sev].sort((a, b) => ["error", "warning", "info"].indexOf(a) - ["error", "warning", "info"].indexOf(b))).toEqual(sev);
  });

  it("unknown doors and bad windows are reported with the field to fix", () => {
    const key = makeKey("k1", { doors: [makeEntry("room-404"), makeEntry("room-101", { departureTime: "25:00" })] });
    const { findings } = diagnose({ key });
    expect(find(findings, "unknown_door", "room-404")?.fix).toMatch(/door\.upsert/);
    expect(find(findings, "invalid_window", "room-101")?.fix).toContain("doors[1].departureTime");
  });
});

describe("fix texts", () => {
  it("a lock with no free slot: the fix says plainly that ended stays free their slots", () => {
    const key = makeKey("k-mem");
    const { findings } = diagnose({ key, facts: [[ROOM, "k-mem:doorCode", { state: "failed", reason: "lock_memory_full" }]] });
    const f = findings.find((x) => x.code === "lock_memory_full");
    expect(f?.fix).toContain("(key.remove; keys whose stay has ended free their slots automatically)");
  });
});
