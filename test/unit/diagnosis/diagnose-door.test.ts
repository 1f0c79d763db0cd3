import { describe, expect, it } from "vitest";
import type { Door, KeyStatus } from "../../../src/access/model.js";
import { diagnoseDoor, type DiagnosisLock, type Finding } from "../../../src/diagnosis/index.js";
import { makeDoor, makeKey, makePmsKey, makeSite } from "../../helpers/access-fixtures.js";

const NOW = Date.parse("2026-12-02T12:00:00Z");
const doors: Door[] = [
  makeDoor("room-101", { linkedDoorIds: ["lobby", "room-102"] }),
  makeDoor("room-102", { linkedDoorIds: ["lobby"], protectConfiguration: true }),
  makeDoor("lobby"),
  makeDoor("room-103", { lockId: null }),
];
const lock = (lockId: string, over: Partial<DiagnosisLock> = {}): DiagnosisLock => ({ lockId, commissioned: true, online: true, ...over });
const status = (keyId: string, doorId: string, state: KeyStatus["state"], reasons: KeyStatus["doors"][number]["reasons"]): KeyStatus => ({
  keyId,
  version: 1,
  state,
  doors: [{ doorId, linked: false, state, reasons }],
  doorCode: { state: "assigned" },
  keycard: { state: "disabled" },
  smartKey: { state: "disabled" },
  updatedAt: "2026-12-02T12:00:00Z",
});
const codes = (f: Finding[]): string[] => f.map((x) => x.code);

describe("diagnoseDoor", () => {
  it("a door with no lock", () => {
    const f = diagnoseDoor({ site: makeSite(), doors, locks: [], doorId: "room-103", nowMs: NOW });
    expect(codes(f)).toEqual(["not_commissioned"]);
    expect(f[0]?.fix).toMatch(/door\.upsert/);
  });

  it("a lock not commissioned", () => {
    const f = diagnoseDoor({ site: makeSite(), doors, locks: [lock("lock-lobby", { commissioned: false })], doorId: "lobby", nowMs: NOW });
    expect(f[0]).toMatchObject({ code: "not_commissioned", severity: "error" });
    expect(f[0]?.fix).toContain('lock.commission {lockId: "lock-lobby"');
  });

  it("an offline lobby with many pending keys: one grouped finding, a sample of key ids", () => {
    const keys = Array.from({ length: 40 }, (_, i) => ({ key: makeKey(`k${i}`), status: status(`k${i}`, "lobby", "pending", ["lock_offline"]) }));
    keys.push({ key: makeKey("kx"), status: status("kx", "lobby", "failed", ["lock_memory_full"]) });
    const f = diagnoseDoor({ site: makeSite(), doors, locks: [lock("lock-lobby", { online: false, link: "tcp 10.0.0.5:4001 addr 2" })], doorId: "lobby", keys, nowMs: NOW });
    expect(codes(f)).toEqual(["lock_offline", "door_keys_failed", "door_keys_pending", "linked_rooms"]);
    expect(f[0]?.message).toContain("tcp 10.0.0.5:4001 addr 2");
    expect(f[2]?.message).toMatch(/^40 key\(s\) pending on this door \(lock_offline\): k0, k1, k2, k3, k4, and 35 more\.$/);
    expect(f[3]?.message).toMatch(/linked to 2 room\(s\): room-101, room-102/);
  });

  it("clock drift and memory use", () => {
    const f = diagnoseDoor({
      site: makeSite(),
      doors,
      locks: [lock("lock-room-101", { clockDriftS: 95, slots: { doorCode: { used: 30, total: 32 }, keycard: { used: 32, total: 32 }, smartKey: { used: 1, total: 32 } } })],
      doorId: "room-101",
      nowMs: NOW,
    });
    expect(codes(f)).toEqual(["lock_memory_full", "lock_clock_drift", "lock_memory_low", "linked_door_invalid"]);
    expect(f.find((x) => x.code === "lock_clock_drift")?.message).toMatch(/95 s ahead/);
  });

  it("Protect Configuration on a room, and PMS keys on an unprotected room", () => {
    const on = diagnoseDoor({ site: makeSite(), doors, locks: [lock("lock-room-102")], doorId: "room-102", nowMs: NOW });
    expect(codes(on)).toEqual(["protect_configuration_on", "door_ok"]);
    const pms = makePmsKey("k1", { checkedIn: true });
    const off = diagnoseDoor({ site: makeSite(), doors: doors.filter((d) => d.doorId !== "room-101").concat(makeDoor("room-101")), locks: [lock("lock-room-101")], doorId: "room-101", keys: [{ key: pms, status: status("k1", "room-101", "active", []) }], nowMs: NOW });
    expect(off.find((x) => x.code === "pms_can_change_settings")?.fix).toContain('door.upsert {doorId: "room-101", protectConfiguration: true}');
  });

  it("unknown door", () => {
    expect(codes(diagnoseDoor({ site: makeSite(), doors, locks: [], doorId: "nope", nowMs: NOW }))).toEqual(["unknown_door"]);
  });
});
