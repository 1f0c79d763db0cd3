import { describe, expect, it } from "vitest";
import { assessAtRisk } from "../../../src/access/at-risk.js";
import type { DoorStatus, KeyStatus } from "../../../src/access/model.js";

const ARRIVAL = "2026-12-01T14:00:00Z";
const DEPARTURE = "2026-12-04T10:00:00Z";
const at = (iso: string): number => Date.parse(iso);

const door = (over: Partial<DoorStatus>): DoorStatus => ({ doorId: "room-101", linked: false, state: "active", reasons: [], validFrom: ARRIVAL, validUntil: DEPARTURE, ...over });
const key = (keyId: string, doors: DoorStatus[]): KeyStatus => ({
  keyId,
  version: 1,
  state: "active",
  doors,
  doorCode: { state: "assigned" },
  keycard: { state: "disabled" },
  smartKey: { state: "disabled" },
  updatedAt: "2026-12-01T00:00:00Z",
});

describe("assessAtRisk (atRiskMinutes = 60)", () => {
  it.each<[string, DoorStatus, string, boolean]>([
    ["pending door, arrival in 30 min", door({ state: "pending", reasons: ["lock_offline"] }), "2026-12-01T13:30:00Z", true],
    ["pending door, arrival in exactly 60 min", door({ state: "pending", reasons: ["lock_offline"] }), "2026-12-01T13:00:00Z", true],
    ["pending door, arrival in 61 min: not yet", door({ state: "pending", reasons: ["lock_offline"] }), "2026-12-01T12:59:00Z", false],
    ["failed door, arrival in 10 min", door({ state: "failed", reasons: ["lock_memory_full"] }), "2026-12-01T13:50:00Z", true],
    ["arrival passed, door still pending, stay ongoing", door({ state: "pending", reasons: ["lock_offline"] }), "2026-12-02T09:00:00Z", true],
    ["stay over", door({ state: "pending", reasons: ["lock_offline"] }), DEPARTURE, false],
    ["ready for the stay (inactive, not started)", door({ state: "inactive", reasons: ["access_period_not_started"] }), "2026-12-01T13:30:00Z", false],
    ["PMS key not checked in", door({ state: "inactive", reasons: ["not_checked_in"] }), "2026-12-01T13:30:00Z", false],
    ["active", door({}), "2026-12-01T14:30:00Z", false],
  ])("%s -> at risk: %s", (_n, d, now, want) => {
    const r = assessAtRisk([key("k1", [d])], 60, at(now));
    expect(r.atRisk.length > 0).toBe(want);
    if (want) expect(r.atRisk[0]).toMatchObject({ keyId: "k1", arrivalMs: at(ARRIVAL), doors: [{ doorId: "room-101", state: d.state, reasons: d.reasons }] });
  });

  it("says when to check next: the earliest not-ready door entering the horizon", () => {
    const later = key("k2", [door({ state: "pending", reasons: ["lock_offline"], validFrom: "2026-12-03T15:00:00Z", validUntil: "2026-12-05T10:00:00Z" })]);
    const soon = key("k3", [door({ state: "pending", reasons: [], validFrom: "2026-12-02T15:00:00Z" })]);
    const ready = key("k4", [door({ state: "inactive", reasons: ["access_period_not_started"], validFrom: "2026-12-01T20:00:00Z" })]);
    const r = assessAtRisk([later, soon, ready], 60, at("2026-12-01T12:00:00Z"));
    expect(r.atRisk).toEqual([]);
    expect(r.nextCheckAtMs).toBe(at("2026-12-02T14:00:00Z"));
    // At that instant, k3 is at risk — before its guest arrives.
    const then = assessAtRisk([later, soon, ready], 60, r.nextCheckAtMs ?? 0);
    expect(then.atRisk.map((k) => k.keyId)).toEqual(["k3"]);
    expect(then.nextCheckAtMs).toBe(at("2026-12-03T14:00:00Z"));
  });

  it("lists only the doors at risk, keys by arrival", () => {
    const a = key("kA", [door({}), door({ doorId: "lobby", linked: true, state: "failed", reasons: ["lock_memory_full"] })]);
    const b = key("kB", [door({ state: "pending", reasons: [], validFrom: "2026-12-01T13:00:00Z" })]);
    const r = assessAtRisk([a, b], 120, at("2026-12-01T12:30:00Z"));
    expect(r.atRisk.map((k) => [k.keyId, k.doors.map((d) => d.doorId)])).toEqual([
      ["kB", ["room-101"]],
      ["kA", ["lobby"]],
    ]);
  });
});
