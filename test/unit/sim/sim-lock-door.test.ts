// People at the door: keypad, card, phone, door sensor; grants and denials by the rules.
import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { DenyReason, EventType, StatusFlag, UNKNOWN_SLOT } from "../../../src/protocol/llp/index.js";
import { ed25519RawPublicKey, signChallenge } from "../../../sim/index.js";
import { card, code, lockHarness, T0 } from "../../helpers/sim-harness.js";

const now = T0 / 1000;

describe("keypad", () => {
  it("grants a stored code inside its window and logs ACCESS_GRANTED with kind and slot", () => {
    const h = lockHarness();
    h.ok(code(4, "482916", { validFrom: now - 60, validUntil: now + 3600 }));
    expect(h.lock.enterCode("482916")).toEqual({ granted: true, kind: 1, slot: 4 });
    expect(h.lock.unlocked).toBe(true);
    expect(h.lock.events.all().at(-1)).toMatchObject({ type: EventType.ACCESS_GRANTED, kind: 1, slot: 4, reason: 0 });
  });

  it("denies: unknown code (1, slot FFFF), outside the window (2, its slot), wrong length (3)", () => {
    const h = lockHarness({ profile: { codeMinLen: 4, codeMaxLen: 8 } });
    h.ok(code(2, "5555", { validFrom: now + 10 }));
    h.ok(code(3, "6666", { validUntil: now }));
    expect(h.lock.enterCode("9999")).toMatchObject({ granted: false, slot: UNKNOWN_SLOT, reason: DenyReason.UNKNOWN_CREDENTIAL });
    expect(h.lock.enterCode("5555")).toMatchObject({ granted: false, slot: 2, reason: DenyReason.OUTSIDE_WINDOW });
    // validUntil is exclusive.
    expect(h.lock.enterCode("6666")).toMatchObject({ granted: false, slot: 3, reason: DenyReason.OUTSIDE_WINDOW });
    expect(h.lock.enterCode("123")).toMatchObject({ granted: false, reason: DenyReason.WRONG_CODE_LENGTH });
    h.clock.advance(10_000);
    expect(h.lock.enterCode("5555").granted).toBe(true); // validFrom is inclusive
    expect(h.lock.events.all().map((e) => [e.type, e.reason])).toEqual([[2, 1], [2, 2], [2, 2], [2, 3], [1, 0]]);
    expect(h.lock.unlocked).toBe(true);
  });

  it("deletes a one-time code after its first use", () => {
    const h = lockHarness();
    h.ok(code(1, "2468", { flags: 1 }));
    expect(h.lock.enterCode("2468").granted).toBe(true);
    expect(h.lock.enterCode("2468")).toMatchObject({ granted: false, reason: 1 });
    expect(h.ok({ cmd: "TABLE_DIGEST", kind: 1 }).used).toBe(0);
  });

  it("judges windows by the lock's own clock (lost clock => denied)", () => {
    const h = lockHarness();
    h.ok(code(1, "1357", { validFrom: now - 60, validUntil: now + 60 }));
    h.lock.powerLoss();
    expect(h.lock.enterCode("1357")).toMatchObject({ granted: false, reason: 2 });
    expect(h.ok({ cmd: "STATUS" }).flags & StatusFlag.CLOCK_NOT_SET).toBe(StatusFlag.CLOCK_NOT_SET);
    h.ok({ cmd: "SET_TIME", time: now });
    expect(h.lock.enterCode("1357").granted).toBe(true);
    expect(h.ok({ cmd: "STATUS" }).flags & StatusFlag.CLOCK_NOT_SET).toBe(0);
  });
});

describe("card reader", () => {
  it("grants a stored UID (any case, colons allowed), denies an unknown one", () => {
    const h = lockHarness();
    h.ok(card(7, "04a1b2c3"));
    expect(h.lock.presentCard("04:A1:B2:C3")).toEqual({ granted: true, kind: 2, slot: 7 });
    expect(h.lock.presentCard("deadbeef")).toMatchObject({ granted: false, kind: 2, slot: UNKNOWN_SLOT, reason: 1 });
  });
});

describe("phone unlock (Ed25519 challenge)", () => {
  it("grants the phone holding the private key of a stored mobile key; denies another phone", () => {
    const h = lockHarness();
    const guest = generateKeyPairSync("ed25519");
    const stranger = generateKeyPairSync("ed25519");
    const pub = ed25519RawPublicKey(guest.privateKey);
    h.ok({ cmd: "PUT_CREDENTIAL", kind: 3, slot: 2, validFrom: 0, validUntil: 0, flags: 0, secret: pub });
    expect(h.lock.phoneUnlock(guest.privateKey)).toEqual({ granted: true, kind: 3, slot: 2 });
    expect(h.lock.phoneUnlock(stranger.privateKey)).toMatchObject({ granted: false, kind: 3, slot: UNKNOWN_SLOT, reason: 1 });
  });

  it("accepts the private key as a raw seed and refuses a signature over an old challenge", () => {
    const h = lockHarness();
    const guest = generateKeyPairSync("ed25519");
    const seed = guest.privateKey.export({ format: "der", type: "pkcs8" }).subarray(-32);
    h.ok({ cmd: "PUT_CREDENTIAL", kind: 3, slot: 0, validFrom: 0, validUntil: 0, flags: 0, secret: ed25519RawPublicKey(seed) });
    expect(h.lock.phoneUnlock(seed.toString("hex")).granted).toBe(true);
    const old = h.lock.issueChallenge();
    const sig = signChallenge(seed, old);
    h.lock.issueChallenge(); // a fresh challenge replaces the old one
    expect(h.lock.verifyPhone(old, sig).granted).toBe(false);
  });
});

describe("door sensor and tamper", () => {
  it("logs DOOR_OPENED / DOOR_CLOSED once per change and shows the door flag", () => {
    const h = lockHarness();
    h.lock.openDoor();
    h.lock.openDoor();
    expect(h.ok({ cmd: "STATUS" }).flags & StatusFlag.DOOR_OPEN).toBe(StatusFlag.DOOR_OPEN);
    h.lock.closeDoor();
    h.lock.tamper();
    h.lock.setBolt(true);
    expect(h.lock.events.all().map((e) => e.type)).toEqual([EventType.DOOR_OPENED, EventType.DOOR_CLOSED, EventType.TAMPER]);
    expect(h.ok({ cmd: "STATUS" }).flags).toBe(StatusFlag.TAMPER | StatusFlag.BOLT_THROWN);
  });
});
