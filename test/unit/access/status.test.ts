import { describe, expect, it } from "vitest";
import { NEW_LIFECYCLE, type KeyLifecycle } from "../../../src/access/key-activation.js";
import type { KeycardAssignment } from "../../../src/access/keycards.js";
import type { Door, Key, KeyStatus, Site } from "../../../src/access/model.js";
import { deriveKeyStatus, factsFromMaps, worstState, type CredentialFact, type DoorCodeOutcome, type LockFact } from "../../../src/access/status.js";
import { doorMap, makeDoor, makeEntry, makeKey, makePmsKey, makeSite } from "../../helpers/access-fixtures.js";

const DURING = Date.parse("2026-12-02T12:00:00Z");
const BEFORE = Date.parse("2026-11-30T12:00:00Z");
const AFTER = Date.parse("2026-12-05T12:00:00Z");
const ROOM = "lock-room-101";
const LOBBY = "lock-lobby";
const PUBKEY = Buffer.alloc(32, 5).toString("base64");
const CARD = { cardId: "c1", uid: "04a1b2c3", label: "Card 1" };

interface Scenario {
  site?: Site;
  doors?: Map<string, Door>;
  key?: Key;
  lifecycle?: KeyLifecycle;
  doorCode?: DoorCodeOutcome;
  keycard?: KeycardAssignment;
  locks?: Partial<Record<string, Partial<LockFact>>>;
  /** ref type -> fact on both locks unless a lock is named */
  facts?: [lock: string, ref: string, fact: CredentialFact][];
  formerDoors?: { doorId: string; linked: boolean }[];
  now?: number;
}

const verifiedEverywhere = (...types: string[]): [string, string, CredentialFact][] =>
  [ROOM, LOBBY].flatMap((l) => types.map((t) => [l, `k1:${t}`, { state: "verified" }] as [string, string, CredentialFact]));

function status(s: Scenario): KeyStatus {
  const lockFacts: LockFact[] = [ROOM, LOBBY].map((lockId) => ({ lockId, commissioned: true, online: true, ...s.locks?.[lockId] }));
  return deriveKeyStatus({
    site: s.site ?? makeSite(),
    doors: s.doors ?? doorMap(makeDoor("room-101", { linkedDoorIds: ["lobby"] }), makeDoor("lobby")),
    key: s.key ?? makeKey("k1"),
    lifecycle: s.lifecycle ?? NEW_LIFECYCLE,
    doorCode: s.doorCode ?? { state: "assigned", code: "482916" },
    keycard: s.keycard ?? { state: "unassigned", reason: "keycard_unavailable", detail: "no_card_selected" },
    facts: factsFromMaps(lockFacts, s.facts ?? verifiedEverywhere("doorCode")),
    formerDoors: s.formerDoors ?? [],
    nowMs: s.now ?? DURING,
  });
}
const doorsOf = (k: KeyStatus): [string, string, string[]][] => k.doors.map((d) => [d.doorId, d.state, d.reasons]);

describe("deriveKeyStatus: door states and reasons", () => {
  it.each<[string, Scenario, [string, string, string[]][], string]>([
    ["verified, within the window: active", {}, [["room-101", "active", []], ["lobby", "active", []]], "active"],
    ["verified ahead of arrival: inactive / access_period_not_started", { now: BEFORE }, [["room-101", "inactive", ["access_period_not_started"]], ["lobby", "inactive", ["access_period_not_started"]]], "inactive"],
    ["after departure: inactive / access_period_ended", { now: AFTER }, [["room-101", "inactive", ["access_period_ended"]], ["lobby", "inactive", ["access_period_ended"]]], "inactive"],
    ["PMS key not checked in: inactive / not_checked_in", { key: makePmsKey("k1"), facts: [] }, [["room-101", "inactive", ["not_checked_in"]], ["lobby", "inactive", ["not_checked_in"]]], "inactive"],
    [
      "not checked in and lock offline: both reasons, so staff see what else blocks it",
      { key: makePmsKey("k1"), facts: [], locks: { [ROOM]: { online: false } } },
      [["room-101", "inactive", ["not_checked_in", "lock_offline"]], ["lobby", "inactive", ["not_checked_in"]]],
      "inactive",
    ],
    ["lock offline, not yet provisioned: pending / lock_offline", { facts: verifiedEverywhere("doorCode").filter((f) => f[0] === LOBBY), locks: { [ROOM]: { online: false } } }, [["room-101", "pending", ["lock_offline"]], ["lobby", "active", []]], "pending"],
    ["lock online, work in flight: pending without reason", { facts: [[LOBBY, "k1:doorCode", { state: "verified" }], [ROOM, "k1:doorCode", { state: "pending" }]] }, [["room-101", "pending", []], ["lobby", "active", []]], "pending"],
    ["lobby lock full: failed / lock_memory_full; key failed", { facts: [[ROOM, "k1:doorCode", { state: "verified" }], [LOBBY, "k1:doorCode", { state: "failed", reason: "lock_memory_full" }]] }, [["room-101", "active", []], ["lobby", "failed", ["lock_memory_full"]]], "failed"],
    ["lock lacks the kind: failed / not_supported", { facts: [[ROOM, "k1:doorCode", { state: "failed", reason: "not_supported" }], [LOBBY, "k1:doorCode", { state: "verified" }]] }, [["room-101", "failed", ["not_supported"]], ["lobby", "active", []]], "failed"],
    ["lock NAK: failed / lock_rejected", { facts: [[ROOM, "k1:doorCode", { state: "failed", reason: "lock_rejected" }], [LOBBY, "k1:doorCode", { state: "verified" }]] }, [["room-101", "failed", ["lock_rejected"]], ["lobby", "active", []]], "failed"],
    ["no code available (strict): failed / code_unavailable", { doorCode: { state: "unavailable", reason: "in_use" }, facts: [] }, [["room-101", "failed", ["code_unavailable"]], ["lobby", "failed", ["code_unavailable"]]], "failed"],
    [
      "keycard enabled but none assigned: failed / keycard_unavailable",
      { key: makeKey("k1", { keycard: { enabled: true, cardId: "c9" } }), keycard: { state: "unassigned", reason: "keycard_unavailable", detail: "keycard_in_use", heldBy: "k2" } },
      [["room-101", "failed", ["keycard_unavailable"]], ["lobby", "failed", ["keycard_unavailable"]]],
      "failed",
    ],
    ["door without a lock: pending / not_commissioned", { doors: doorMap(makeDoor("room-101", { lockId: null, linkedDoorIds: ["lobby"] }), makeDoor("lobby")) }, [["room-101", "pending", ["not_commissioned"]], ["lobby", "active", []]], "pending"],
    ["lock not commissioned: pending / not_commissioned", { locks: { [LOBBY]: { commissioned: false } } }, [["room-101", "active", []], ["lobby", "pending", ["not_commissioned"]]], "pending"],
    [
      "Allow Provisioning off: pending / provisioning_disabled (linked lobby too)",
      { key: makeKey("k1", { doors: [makeEntry("room-101", { allowProvisioning: false })] }), facts: [] },
      [["room-101", "pending", ["provisioning_disabled"]], ["lobby", "pending", ["provisioning_disabled"]]],
      "pending",
    ],
    [
      "Allow Provisioning off and lock offline: both reasons",
      { key: makeKey("k1", { doors: [makeEntry("room-101", { allowProvisioning: false, allowLinkedDoorsAccess: false })] }), facts: [], locks: { [ROOM]: { online: false } } },
      [["room-101", "pending", ["provisioning_disabled", "lock_offline"]]],
      "pending",
    ],
    [
      "site disables the only enabled type: pending / credential_type_disabled",
      { site: makeSite({ credentialTypes: { doorCode: false, keycard: true, smartKey: true } }), facts: [] },
      [["room-101", "pending", ["credential_type_disabled"]], ["lobby", "pending", ["credential_type_disabled"]]],
      "pending",
    ],
    ["removed key still on the room lock: revoking; gone from the lobby: revoked", { lifecycle: { removed: true, checkedOut: false }, facts: [[ROOM, "k1:doorCode", { state: "present" }]] }, [["room-101", "revoking", []], ["lobby", "revoked", []]], "revoking"],
    ["removed key, room lock offline: revoking / lock_offline", { lifecycle: { removed: true, checkedOut: false }, facts: [[ROOM, "k1:doorCode", { state: "present" }]], locks: { [ROOM]: { online: false } } }, [["room-101", "revoking", ["lock_offline"]], ["lobby", "revoked", []]], "revoking"],
    ["checked-out key, all deleted: revoked", { key: makePmsKey("k1"), lifecycle: { removed: false, checkedOut: true }, facts: [] }, [["room-101", "revoked", []], ["lobby", "revoked", []]], "revoked"],
    [
      "linked access turned off: the lobby shows revoking until the delete is verified",
      { key: makeKey("k1", { doors: [makeEntry("room-101", { allowLinkedDoorsAccess: false })] }), facts: [[ROOM, "k1:doorCode", { state: "verified" }], [LOBBY, "k1:doorCode", { state: "present" }]], formerDoors: [{ doorId: "lobby", linked: true }] },
      [["room-101", "active", []], ["lobby", "revoking", []]],
      "revoking",
    ],
    [
      "... and drops out once it is gone",
      { key: makeKey("k1", { doors: [makeEntry("room-101", { allowLinkedDoorsAccess: false })] }), facts: [[ROOM, "k1:doorCode", { state: "verified" }]], formerDoors: [{ doorId: "lobby", linked: true }] },
      [["room-101", "active", []]],
      "active",
    ],
  ])("%s", (_name, scenario, doors, keyState) => {
    const k = status(scenario);
    expect(doorsOf(k)).toEqual(doors);
    expect(k.state).toBe(keyState);
  });

  it("door entries carry the UTC window and the linked flag", () => {
    const k = status({});
    expect(k.doors[0]).toMatchObject({ doorId: "room-101", linked: false, validFrom: "2026-12-01T14:00:00Z", validUntil: "2026-12-04T10:00:00Z" });
    expect(k.doors[1]).toMatchObject({ doorId: "lobby", linked: true, validFrom: "2026-12-01T14:00:00Z" });
    expect(k.updatedAt).toBe("2026-12-02T12:00:00Z");
  });
});

describe("deriveKeyStatus: credential states", () => {
  it.each<[string, Scenario, unknown]>([
    ["assigned and on the locks", {}, { state: "assigned", code: "482916" }],
    ["key has door code off", { key: makeKey("k1", { doorCode: { enabled: false, assignment: "random" } }) }, { state: "disabled" }],
    ["site disables door codes", { site: makeSite({ credentialTypes: { doorCode: false, keycard: true, smartKey: true } }) }, { state: "disabled", reason: "credential_type_disabled" }],
    ["no code available", { doorCode: { state: "unavailable", reason: "cooling_off" }, facts: [] }, { state: "unassigned", reason: "code_unavailable" }],
    ["every lock offline and the code on none: unassigned / lock_offline", { facts: [], locks: { [ROOM]: { online: false }, [LOBBY]: { online: false } } }, { state: "unassigned", reason: "lock_offline" }],
    ["on one lock, the other offline: assigned", { facts: [[LOBBY, "k1:doorCode", { state: "verified" }]], locks: { [ROOM]: { online: false } } }, { state: "assigned", code: "482916" }],
    ["a lock refused it: failed with the reason", { facts: [[ROOM, "k1:doorCode", { state: "failed", reason: "lock_memory_full" }]] }, { state: "failed", reason: "lock_memory_full", code: "482916" }],
    ["PMS key before check-in: decided, shown", { key: makePmsKey("k1"), facts: [] }, { state: "assigned", code: "482916" }],
  ])("door code: %s", (_n, scenario, want) => {
    expect(status(scenario).doorCode).toEqual(want);
  });

  it.each<[string, Scenario, unknown]>([
    ["assigned card on every lock", { key: makeKey("k1", { keycard: { enabled: true, cardId: "c1" } }), keycard: { state: "assigned", card: CARD }, facts: verifiedEverywhere("doorCode", "keycard") }, { state: "assigned", cardId: "c1" }],
    ["card held by another key", { key: makeKey("k1", { keycard: { enabled: true, cardId: "c1" } }), keycard: { state: "unassigned", reason: "keycard_unavailable", detail: "keycard_in_use", heldBy: "k2" } }, { state: "unassigned", reason: "keycard_unavailable" }],
    ["site disables keycards", { key: makeKey("k1", { keycard: { enabled: true, cardId: "c1" } }), site: makeSite({ credentialTypes: { doorCode: true, keycard: false, smartKey: true } }), keycard: { state: "assigned", card: CARD } }, { state: "disabled", reason: "credential_type_disabled" }],
  ])("keycard: %s", (_n, scenario, want) => {
    expect(status(scenario).keycard).toEqual(want);
  });

  const smart = (publicKey: string | undefined): Key => makeKey("k1", { smartKey: { enabled: true, publicKey } });
  it.each<[string, Scenario, unknown, string]>([
    ["on every door's lock: ready", { key: smart(PUBKEY), facts: verifiedEverywhere("doorCode", "smartKey") }, { state: "ready" }, "active"],
    ["on the room only: pending", { key: smart(PUBKEY), facts: [...verifiedEverywhere("doorCode"), [ROOM, "k1:smartKey", { state: "verified" }]] }, { state: "pending" }, "pending"],
    ["guest has not activated the app (no public key): pending, doors not held back", { key: smart(undefined) }, { state: "pending", reason: "awaiting_public_key" }, "active"],
    ["invalid public key: failed", { key: smart("AAAA") }, { state: "failed", reason: "invalid_public_key" }, "active"],
    ["every lock offline: pending / lock_offline", { key: smart(PUBKEY), facts: [], locks: { [ROOM]: { online: false }, [LOBBY]: { online: false } } }, { state: "pending", reason: "lock_offline" }, "pending"],
    ["lock lacks mobile keys: failed / not_supported", { key: smart(PUBKEY), facts: [...verifiedEverywhere("doorCode"), [ROOM, "k1:smartKey", { state: "failed", reason: "not_supported" }]] }, { state: "failed", reason: "not_supported" }, "failed"],
  ])("smart key: %s", (_n, scenario, want, keyState) => {
    const k = status(scenario);
    expect(k.smartKey).toEqual(want);
    expect(k.state).toBe(keyState);
  });
});

describe("worstState", () => {
  it("follows DOOR_STATE_SEVERITY", () => {
    expect(worstState(["active", "inactive", "pending"])).toBe("pending");
    expect(worstState(["revoked", "active"])).toBe("revoked");
    expect(worstState(["revoking", "failed"])).toBe("failed");
    expect(worstState([])).toBeUndefined();
  });
});
