import { describe, expect, it } from "vitest";
import { eventsLost, mapLockEvent, sequenceBatch, type EventContext } from "../../../src/provisioning/reconcile/lock-events.js";
import { EventType } from "../../../src/protocol/llp/constants.js";

const T = 1_796_134_800; // 2026-12-01T14:20:00Z
const ctx: EventContext = {
  lockId: "4c42000000000001",
  doorId: "room-101",
  readAtMs: Date.UTC(2026, 11, 1, 15, 0, 0),
  ownerOf: (kind, slot) => (kind === 1 && slot === 5 ? { keyId: "k-1042", credential: "doorCode" } : undefined),
};
const ev = (type: number, over: Partial<{ seq: number; time: number; kind: number; slot: number; reason: number }> = {}) => ({
  seq: 1, time: T, type, kind: 0, slot: 0, reason: 0, ...over,
});

describe("mapLockEvent", () => {
  it("maps a granted code in a known slot to the key that holds it", () => {
    expect(mapLockEvent(ev(EventType.ACCESS_GRANTED, { kind: 1, slot: 5, seq: 9 }), ctx)).toEqual({
      type: "access.granted", at: "2026-12-01T14:20:00Z", lockId: ctx.lockId, doorId: "room-101",
      keyId: "k-1042", credential: "doorCode", slot: 5, lockSeq: 9,
    });
  });

  it("never guesses a key for an unknown slot; denial reasons are named", () => {
    const denied = mapLockEvent(ev(EventType.ACCESS_DENIED, { kind: 2, slot: 0xffff, reason: 1 }), ctx);
    expect(denied).toMatchObject({ type: "access.denied", credential: "keycard", reason: "unknown_credential" });
    expect(denied).not.toHaveProperty("keyId");
    expect(denied).not.toHaveProperty("slot");
    const outside = mapLockEvent(ev(EventType.ACCESS_DENIED, { kind: 1, slot: 5, reason: 2 }), ctx);
    expect(outside).toMatchObject({ keyId: "k-1042", reason: "outside_validity_window" });
    expect(mapLockEvent(ev(EventType.ACCESS_DENIED, { kind: 1, slot: 0xffff, reason: 3 }), ctx)?.reason).toBe("wrong_code_length");
  });

  it("maps door, lock and firmware events", () => {
    const types = [
      [EventType.DOOR_OPENED, "door.opened"], [EventType.DOOR_CLOSED, "door.closed"],
      [EventType.REMOTE_UNLOCK, "door.remote_unlock"], [EventType.TAMPER, "lock.tamper"],
      [EventType.CLOCK_LOST, "lock.clock_lost"],
    ] as const;
    for (const [t, name] of types) expect(mapLockEvent(ev(t), ctx)?.type).toBe(name);
    expect(mapLockEvent(ev(EventType.BATTERY_LOW, { reason: 12 }), ctx)).toMatchObject({ type: "lock.battery_low", battery: 12 });
    expect(mapLockEvent(ev(0x7e), ctx)).toBeUndefined();
    expect(mapLockEvent(ev(EventType.FIRMWARE_APPLIED), ctx)).toBeUndefined();
  });

  it("uses the hub's reading time when the lock's clock was lost", () => {
    expect(mapLockEvent(ev(EventType.DOOR_OPENED, { time: 35 }), ctx)?.at).toBe("2026-12-01T15:00:00Z");
  });
});

describe("sequenceBatch", () => {
  const e = (seq: number) => ev(EventType.DOOR_OPENED, { seq });
  it("passes a contiguous batch and advances", () => {
    expect(sequenceBatch(4, [e(4), e(5), e(6)])).toMatchObject({ gaps: [], nextSeq: 7 });
  });
  it("reports the events the ring overwrote", () => {
    const r = sequenceBatch(4, [e(10), e(11), e(13)]);
    expect(r.gaps).toEqual([{ fromSeq: 4, toSeq: 9 }, { fromSeq: 12, toSeq: 12 }]);
    expect(r.ordered.map((x) => x.seq)).toEqual([10, 11, 13]);
    expect(r.nextSeq).toBe(14);
    expect(eventsLost(r.gaps[0]!, ctx)).toMatchObject({ type: "lock.events_lost", count: 6, fromSeq: 4, toSeq: 9 });
  });
  it("drops already-seen and duplicate seqs", () => {
    expect(sequenceBatch(5, [e(3), e(5), e(5), e(6)]).ordered.map((x) => x.seq)).toEqual([5, 6]);
  });
  it("an empty answer changes nothing", () => {
    expect(sequenceBatch(8, [])).toEqual({ ordered: [], gaps: [], nextSeq: 8 });
  });
});

describe("NAK mapping and error classes", async () => {
  const { nakReason, isTransientNak } = await import("../../../src/provisioning/reconcile/reasons.js");
  const { classifyLockError } = await import("../../../src/provisioning/reconcile/lock-errors.js");
  const { LockNakError, lockTimeout } = await import("../../../src/lock/errors.js");
  it.each([
    ["MEMORY_FULL", "lock_memory_full"],
    ["SLOT_OUT_OF_RANGE", "lock_memory_full"],
    ["NOT_SUPPORTED", "not_supported"],
    ["MALFORMED", "lock_rejected"],
    ["DUPLICATE_CREDENTIAL", "lock_rejected"],
  ] as const)("%s -> %s", (nak, reason) => expect(nakReason(nak)).toBe(reason));
  it("BUSY and NOT_AUTHENTICATED are not final", () => {
    expect(isTransientNak("BUSY")).toBe(true);
    expect(isTransientNak("MEMORY_FULL")).toBe(false);
  });
  it("classifies the lock layer's errors by code", () => {
    expect(classifyLockError(new LockNakError("x", "PUT_CREDENTIAL", { code: 5, name: "MEMORY_FULL" }))).toEqual({ kind: "nak", nak: "MEMORY_FULL" });
    expect(classifyLockError(new LockNakError("x", "PUT_CREDENTIAL", { code: 6, name: "DUPLICATE_CREDENTIAL", conflictingSlot: 3 }))).toMatchObject({ conflictingSlot: 3 });
    expect(classifyLockError(new LockNakError("x", "STATUS", { code: 3, name: "NOT_AUTHENTICATED" }))).toEqual({ kind: "not_paired" });
    expect(classifyLockError(lockTimeout("x", "STATUS", 3, true))).toEqual({ kind: "unreachable" });
    expect(classifyLockError(new Error("boom"))).toEqual({ kind: "other" });
  });
});
