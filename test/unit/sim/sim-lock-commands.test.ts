// Commands of §3 on the lock side: credentials per kind, status, time, unlock, events.
import { describe, expect, it } from "vitest";
import { EventType, StatusFlag } from "../../../src/protocol/llp/index.js";
import { card, code, lockHarness, T0 } from "../../helpers/sim-harness.js";

describe("IDENT and STATUS", () => {
  it("reports the profile in IDENT", () => {
    const h = lockHarness({ profile: { model: "X-1", codeSlots: 7, cardSlots: 3, mobileKeySlots: 0, codeMinLen: 5, codeMaxLen: 9 } });
    expect(h.ok({ cmd: "IDENT" })).toMatchObject({ model: "X-1", codeSlots: 7, cardSlots: 3, mobileKeySlots: 0, codeMinLen: 5, codeMaxLen: 9, firmware: "1.0.0" });
  });

  it("STATUS shows battery, flags, lock time and event head; SET_TIME moves the lock clock", () => {
    const h = lockHarness({ battery: 55 });
    expect(h.ok({ cmd: "STATUS" })).toEqual({ battery: 55, flags: 0, lockTime: T0 / 1000, eventHead: 0 });
    h.ok({ cmd: "SET_TIME", time: 2_000_000_000 });
    h.clock.advance(10_000);
    expect(h.ok({ cmd: "STATUS" }).lockTime).toBe(2_000_000_010);
  });
});

describe("credentials", () => {
  it("PUT overwrites, DELETE of an empty slot is fine, READ_SLOTS lists used slots of the range", () => {
    const h = lockHarness();
    h.ok(code(3, "1111"));
    h.ok(code(3, "2222", { validUntil: 99 }));
    h.ok(code(9, "3333"));
    h.ok({ cmd: "DELETE_CREDENTIAL", kind: 1, slot: 20 });
    const slots = h.ok({ cmd: "READ_SLOTS", kind: 1, firstSlot: 0, count: 8 });
    expect(slots.map((s) => [s.slot, s.validUntil])).toEqual([[3, 99]]);
    expect(h.ok({ cmd: "READ_SLOTS", kind: 1, firstSlot: 4, count: 32 }).map((s) => s.slot)).toEqual([9]);
    h.ok({ cmd: "DELETE_CREDENTIAL", kind: 1, slot: 3 });
    expect(h.ok({ cmd: "TABLE_DIGEST", kind: 1 }).used).toBe(1);
  });

  it("answers SLOT_OUT_OF_RANGE at and beyond the kind's slot count", () => {
    const h = lockHarness({ profile: { codeSlots: 4, cardSlots: 2 } });
    expect(h.nakName(code(3, "1234"))).toBe("ACK");
    expect(h.nakName(code(4, "1235"))).toBe("SLOT_OUT_OF_RANGE");
    expect(h.nakName(card(2, "01020304"))).toBe("SLOT_OUT_OF_RANGE");
    expect(h.nakName({ cmd: "DELETE_CREDENTIAL", kind: 2, slot: 2 })).toBe("SLOT_OUT_OF_RANGE");
    expect(h.nakName({ cmd: "READ_SLOTS", kind: 1, firstSlot: 4, count: 1 })).toBe("SLOT_OUT_OF_RANGE");
  });

  it("answers DUPLICATE_CREDENTIAL with the other slot for the same code or card UID of that kind only", () => {
    const h = lockHarness();
    h.ok(code(1, "482916"));
    const dup = h.send(code(2, "482916"));
    expect(dup.ok ? null : dup.nak).toMatchObject({ name: "DUPLICATE_CREDENTIAL", conflictingSlot: 1 });
    expect(h.nakName(code(1, "482916"))).toBe("ACK"); // same slot: an overwrite
    h.ok(card(0, "04a1b2c3d4"));
    const dupCard = h.send(card(5, "04A1B2C3D4"));
    expect(dupCard.ok ? null : dupCard.nak).toMatchObject({ name: "DUPLICATE_CREDENTIAL", conflictingSlot: 0 });
    // The same bytes as another kind are not a duplicate.
    expect(h.nakName({ ...card(1, Buffer.from("482916").toString("hex")) })).toBe("ACK");
  });

  it("validates secrets: code digits within the length range, card UID 4..10 bytes, mobile key 32 bytes", () => {
    const h = lockHarness({ profile: { codeMinLen: 4, codeMaxLen: 8 } });
    expect(h.nakName(code(0, "123"))).toBe("MALFORMED");
    expect(h.nakName(code(0, "123456789"))).toBe("MALFORMED");
    expect(h.nakName(code(0, "12a4"))).toBe("MALFORMED");
    expect(h.nakName(card(0, "010203"))).toBe("MALFORMED");
    expect(h.nakName(card(0, "0102030405060708090a0b"))).toBe("MALFORMED");
    expect(h.nakName({ cmd: "PUT_CREDENTIAL", kind: 3, slot: 0, validFrom: 0, validUntil: 0, flags: 0, secret: Buffer.alloc(31) })).toBe("MALFORMED");
    expect(h.nakName({ cmd: "PUT_CREDENTIAL", kind: 4, slot: 0, validFrom: 0, validUntil: 0, flags: 0, secret: Buffer.from("1234") })).toBe("MALFORMED");
    expect(h.nakName({ cmd: "READ_SLOTS", kind: 1, firstSlot: 0, count: 33 })).toBe("MALFORMED");
    expect(h.nakName({ cmd: "READ_SLOTS", kind: 1, firstSlot: 0, count: 0 })).toBe("MALFORMED");
  });

  it("answers NOT_SUPPORTED for a kind the model lacks, and MEMORY_FULL under the memory-full fault", () => {
    const h = lockHarness({ profile: "sim-basic" });
    expect(h.nakName(card(0, "01020304"))).toBe("NOT_SUPPORTED");
    expect(h.nakName({ cmd: "FW_ABORT" })).toBe("NOT_SUPPORTED");
    h.lock.setMemoryFull(true);
    expect(h.nakName(code(0, "1234"))).toBe("MEMORY_FULL");
    h.lock.setMemoryFull(false);
    expect(h.nakName(code(0, "1234"))).toBe("ACK");
  });
});

describe("UNLOCK", () => {
  it("releases the latch for the seconds asked and logs REMOTE_UNLOCK; 0 and 31 are MALFORMED", () => {
    const h = lockHarness();
    expect(h.nakName({ cmd: "UNLOCK", seconds: 0 })).toBe("MALFORMED");
    expect(h.nakName({ cmd: "UNLOCK", seconds: 31 })).toBe("MALFORMED");
    h.ok({ cmd: "UNLOCK", seconds: 5 });
    expect(h.lock.unlocked).toBe(true);
    h.clock.advance(5_000);
    expect(h.lock.unlocked).toBe(false);
    expect(h.lock.events.all().map((e) => e.type)).toEqual([EventType.REMOTE_UNLOCK]);
  });
});

describe("events", () => {
  it("READ_EVENTS returns oldest first from fromSeq, at most max; ACK_EVENTS forgets", () => {
    const h = lockHarness();
    for (let i = 0; i < 5; i++) {
      h.lock.openDoor();
      h.lock.closeDoor();
    }
    expect(h.ok({ cmd: "STATUS" }).eventHead).toBe(10);
    const ev = h.ok({ cmd: "READ_EVENTS", fromSeq: 3, max: 4 });
    expect(ev.map((e) => e.seq)).toEqual([3, 4, 5, 6]);
    expect(ev[0]).toMatchObject({ type: EventType.DOOR_OPENED, kind: 0, slot: 0, reason: 0, time: T0 / 1000 });
    h.ok({ cmd: "ACK_EVENTS", uptoSeq: 8 });
    expect(h.ok({ cmd: "READ_EVENTS", fromSeq: 1, max: 32 }).map((e) => e.seq)).toEqual([9, 10]);
    expect(h.nakName({ cmd: "READ_EVENTS", fromSeq: 1, max: 0 })).toBe("MALFORMED");
  });

  it("drops the oldest events on overflow, so the hub sees a seq gap", () => {
    const h = lockHarness({ eventCapacity: 4 });
    for (let i = 0; i < 7; i++) h.lock.tamper();
    const ev = h.ok({ cmd: "READ_EVENTS", fromSeq: 1, max: 32 });
    expect(ev.map((e) => e.seq)).toEqual([4, 5, 6, 7]);
    expect(h.lock.events.dropped).toBe(3);
    expect(h.ok({ cmd: "STATUS" }).eventHead).toBe(7);
  });

  it("logs BATTERY_LOW once on crossing the threshold, with the battery % as reason", () => {
    const h = lockHarness({ battery: 22, batteryDrainPerUnlock: 1, lowBatteryThreshold: 20 });
    h.ok({ cmd: "UNLOCK", seconds: 1 });
    h.ok({ cmd: "UNLOCK", seconds: 1 });
    h.ok({ cmd: "UNLOCK", seconds: 1 });
    const low = h.lock.events.all().filter((e) => e.type === EventType.BATTERY_LOW);
    expect(low).toEqual([expect.objectContaining({ reason: 19 })]);
    expect(h.ok({ cmd: "STATUS" }).flags & StatusFlag.LOW_BATTERY).toBe(StatusFlag.LOW_BATTERY);
  });
});
