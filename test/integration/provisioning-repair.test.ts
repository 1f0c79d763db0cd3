/**
 * Drift repair end to end: a lock that lost its memory, was factory reset, was changed
 * behind the hub's back, or was replaced; and a lock that refuses (NAK) a credential.
 */
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { CredentialKind, StatusFlag } from "../../src/protocol/llp/index.js";
import { codeOf, keyPayload, withProperty, TEST_ROOM_PROFILE, type Property } from "../helpers/property.js";

const FAST_VERIFY = { engine: { verifyIntervalMs: 500 } };
const KX_ROOM = { ...TEST_ROOM_PROFILE, capabilities: [...TEST_ROOM_PROFILE.capabilities!, "authenticatedPairing" as const], pairing: "kx" as const };

/** One PAIR_KX room lock with one key active on it. */
function withKxRoomKey(fn: (p: Property, status: Awaited<ReturnType<Property["waitForKey"]>>, lock: ReturnType<Property["sim"]>, lockId: string) => Promise<void>): Promise<void> {
  return withProperty({ rooms: 1, commons: [], roomProfile: KX_ROOM, ...FAST_VERIFY }, async (p) => {
    await p.ok("key.upsert", keyPayload(p, "k-1", ["room-101"]));
    const s = await p.waitForKey("k-1", (x) => x.state === "active");
    await fn(p, s, p.sim("room-101"), p.lockIdOf("room-101"));
  });
}

describe("drift repair", () => {
  it("a lock that lost its memory gets exactly the desired table back", async () => {
    await withProperty({ rooms: 1, commons: [], ...FAST_VERIFY }, async (p) => {
      await p.ok("key.upsert", keyPayload(p, "k-1", ["room-101"]));
      await p.ok("key.upsert", keyPayload(p, "k-2", ["room-101"]));
      const s1 = await p.waitForKey("k-1", (x) => x.state === "active");
      await p.waitForKey("k-2", (x) => x.state === "active");
      const lock = p.sim("room-101");
      const digest = lock.table(CredentialKind.DOOR_CODE)!.digest();
      lock.table(CredentialKind.DOOR_CODE)!.clear();
      expect(lock.enterCode(codeOf(s1)).granted).toBe(false);
      await p.waitFor("the table restored", () => lock.table(CredentialKind.DOOR_CODE)!.digest().equals(digest));
      expect(lock.enterCode(codeOf(s1)).granted).toBe(true);
    });
  });

  it("a factory-reset lock is reported pairing_lost and never re-paired by the hub on its own (LLP v1.1 §9.2); commissioning it again restores it", async () => {
    await withProperty({ rooms: 1, commons: [], ...FAST_VERIFY }, async (p) => {
      await p.ok("keycards.upsert", { cards: [{ cardId: "c1", uid: "04a1b2c3d4e5f6", label: "1" }] });
      await p.ok("key.upsert", keyPayload(p, "k-1", ["room-101"], { keycard: { enabled: true, cardId: "c1" } }));
      const s = await p.waitForKey("k-1", (x) => x.state === "active");
      const lock = p.sim("room-101");
      const lockId = p.lockIdOf("room-101");
      const keyBefore = lock.linkKey;
      lock.factoryReset();
      expect(lock.linkKey).toBeNull();
      // The hub reports the lock instead of sending a PAIR with a key in clear to whatever answers.
      const alert = await p.waitFor("lock.security_alert pairing_lost", () => p.events("lock.security_alert").find((e) => e.lockId === lockId));
      expect(alert).toMatchObject({ reason: "pairing_lost", doorId: "room-101" });
      expect(p.engine.statuses.lockStatus(lockId)?.state).toBe("pairing_lost");
      await new Promise((r) => setTimeout(r, 1500));
      expect(lock.linkKey).toBeNull();
      expect(p.events("lock.security_alert").filter((e) => e.lockId === lockId)).toHaveLength(1); // reported once
      // The installer commissions it again (the reset lock has no key, so it takes PAIR).
      await p.commission("room-101");
      expect(lock.linkKey).not.toBeNull();
      expect(lock.linkKey?.equals(keyBefore!)).toBe(false); // a fresh link key
      await p.waitFor("restored", () => lock.enterCode(codeOf(s)).granted);
      await p.waitFor("card restored", () => lock.table(CredentialKind.KEYCARD)!.used === 1);
      expect(lock.presentCard("04a1b2c3d4e5f6").granted).toBe(true);
      await p.waitForKey("k-1", (x) => x.state === "active");
      expect(p.engine.statuses.lockStatus(lockId)?.state).toBe("commissioned");
    });
  });

  it("a factory-reset PAIR_KX lock is re-paired by the hub with the setup key from its label, and gets its table back", async () => {
    await withKxRoomKey(async (p, s, lock, lockId) => {
      expect(p.store.linkState.setupKey(lockId)?.toString("hex")).toBe(lock.setupKey);
      const keyBefore = Buffer.from(lock.linkKey!);
      lock.factoryReset();
      // PAIR_KX's confirm proves the label's key: the hub re-pairs on its own, nobody needs to visit.
      await p.waitFor("re-paired", () => lock.linkKey !== null && !lock.linkKey.equals(keyBefore));
      await p.waitFor("the hub holds the lock's new key", () => p.store.linkState.linkKeys(lockId).active?.equals(lock.linkKey!));
      await p.waitFor("the code back on the lock", () => lock.enterCode(codeOf(s)).granted);
      expect(p.events("lock.security_alert").filter((e) => e.lockId === lockId)).toEqual([]);
      expect(p.engine.statuses.lockStatus(lockId)?.state).toBe("commissioned");
    });
  });

  it("a PAIR_KX the hub never heard answered (killed after the lock took the new key) is reported pairing_lost; the pairing button and commissioning again restore it (chaos run: SIGKILL mid-pairing)", async () => {
    await withKxRoomKey(async (p, s, lock, lockId) => {
      // What a hub killed mid-PAIR_KX leaves: the lock took a key from an exchange whose private
      // half died with the hub (LLP §8: never stored), so nobody holds it.
      lock.state.linkKey = randomBytes(16);
      lock.state.hubCounter = 0;
      await p.waitFor("reported pairing_lost", () => p.engine.statuses.lockStatus(lockId)?.state === "pairing_lost");
      expect(p.events("lock.security_alert").filter((e) => e.lockId === lockId)).toEqual([]);
      // Nothing the hub can do on its own: the lock refuses PAIR_KX while it holds a key.
      expect(p.store.linkState.linkKeys(lockId).active?.equals(lock.linkKey!)).toBe(false);
      lock.pressPairingButton();
      await p.commission("room-101");
      expect(p.store.linkState.linkKeys(lockId).active?.equals(lock.linkKey!)).toBe(true);
      await p.waitFor("the code works again", () => lock.enterCode(codeOf(s)).granted);
      await p.waitFor("commissioned", () => p.engine.statuses.lockStatus(lockId)?.state === "commissioned");
    });
  });

  it("a lock that lost its memory silently (no power loss) is checked when a guest's code is refused, not at the 15-minute routine check (chaos: silent memory loss)", async () => {
    await withProperty({ rooms: 1, commons: [] }, async (p) => {
      await p.ok("keycards.upsert", { cards: [{ cardId: "c1", uid: "04a1b2c3d4e5f6", label: "1" }] });
      await p.ok("key.upsert", keyPayload(p, "k-1", ["room-101"], { keycard: { enabled: true, cardId: "c1" } }));
      const s = await p.waitForKey("k-1", (x) => x.state === "active");
      const lock = p.sim("room-101");
      lock.table(CredentialKind.DOOR_CODE)!.clear(); // EEPROM lost, the lock says nothing
      lock.table(CredentialKind.KEYCARD)!.clear();
      expect(lock.enterCode(codeOf(s)).granted).toBe(false);
      // The guest's refused try is in the lock's log; the hub reads it and checks the table, and
      // finding entries gone, the other tables too: the card works without being refused first.
      await p.waitFor("the code back after the guest's refused try", () => lock.enterCode(codeOf(s)).granted, 15_000);
      await p.waitFor("the card back too", () => lock.table(CredentialKind.KEYCARD)!.used === 1, 15_000);
      expect(lock.presentCard("04a1b2c3d4e5f6").granted).toBe(true);
    });
  });

  it("a table changed behind the hub's back is repaired: foreign entries deleted, ours rewritten", async () => {
    await withProperty({ rooms: 1, commons: [], ...FAST_VERIFY }, async (p) => {
      await p.ok("key.upsert", keyPayload(p, "k-1", ["room-101"]));
      await p.ok("key.upsert", keyPayload(p, "k-2", ["room-101"]));
      const a = codeOf(await p.waitForKey("k-1", (x) => x.state === "active"));
      const b = codeOf(await p.waitForKey("k-2", (x) => x.state === "active"));
      await p.settle();
      const lock = p.sim("room-101");
      const table = lock.table(CredentialKind.DOOR_CODE)!;
      const expected = table.digest();
      // Someone adds a code of their own, deletes k-2's, and widens k-1's window.
      table.put(20, { validFrom: 0, validUntil: 0, flags: 0, secret: Buffer.from("555123") });
      const slotB = table.findSecret(Buffer.from(b))!;
      table.delete(slotB);
      const slotA = table.findSecret(Buffer.from(a))!;
      table.put(slotA, { ...table.get(slotA)!, validUntil: 0 });
      expect(lock.enterCode("555123").granted).toBe(true);
      await p.waitFor("the table repaired", () => table.digest().equals(expected));
      expect(lock.enterCode("555123").granted).toBe(false);
      expect(lock.enterCode(b).granted).toBe(true);
      expect(table.get(table.findSecret(Buffer.from(a))!)?.validUntil).not.toBe(0);
    });
  });

  it("a replaced lock (IDENT shows another lockId) raises lock.replaced and waits for an installer", async () => {
    await withProperty({ rooms: 1, commons: [], ...FAST_VERIFY }, async (p) => {
      await p.ok("key.upsert", keyPayload(p, "k-1", ["room-101"]));
      const s = await p.waitForKey("k-1", (x) => x.state === "active");
      const oldId = p.lockIdOf("room-101");
      const newId = "4c42aaaaaaaaaaaa";
      p.sim("room-101").replace(newId);
      const ev = await p.waitFor("lock.replaced", () => p.events("lock.replaced").find((e) => e.lockId === oldId));
      expect(ev).toMatchObject({ newLockId: newId, doorId: "room-101" });
      const waiting = await p.waitForKey("k-1", (x) => x.state === "pending");
      expect(waiting.doors[0]).toMatchObject({ state: "pending", reasons: ["not_commissioned"] });
      // The stranger is not accepted on its own: nothing is written to it.
      await new Promise((r) => setTimeout(r, 1500));
      expect(p.sim("room-101").linkKey).toBeNull();
      expect(p.sim("room-101").table(CredentialKind.DOOR_CODE)!.used).toBe(0);
      // The installer commissions the new lock and points the door at it.
      const link = p.store.locks.get(oldId)!.link;
      await p.ok("lock.commission", { lockId: newId, profile: TEST_ROOM_PROFILE.id, link });
      await p.ok("door.upsert", { doorId: "room-101", name: "room-101", lockId: newId, kind: "room", linkedDoorIds: [], protectConfiguration: false });
      const fixed = await p.waitForKey("k-1", (x) => x.state === "active");
      expect(codeOf(fixed)).toBe(codeOf(s));
      expect(p.sim("room-101").enterCode(codeOf(s)).granted).toBe(true);
      // A restart before the old lock is decommissioned (chaos run: a hub SIGKILL between the
      // installer's steps): the hub starts, with the new lock at the address, not the old one.
      expect(p.store.locks.get(oldId)?.state).toBe("replaced");
      await p.restartHub();
      await p.waitFor("the new lock serving after the restart", () => p.engine.statuses.lockStatus(newId)?.online === true);
      p.sim("room-101").table(CredentialKind.DOOR_CODE)!.clear();
      await p.ok("key.upsert", keyPayload(p, "k-2", ["room-101"]));
      const second = await p.waitForKey("k-2", (x) => x.state === "active");
      expect(p.sim("room-101").enterCode(codeOf(second)).granted).toBe(true);
      await p.ok("lock.decommission", { lockId: oldId, wipe: false });
    });
  });
});

describe("lock refusals", () => {
  it("MEMORY_FULL -> failed (lock_memory_full) with credential.failed; retried once memory is freed", async () => {
    await withProperty({ rooms: 1, commons: [], ...FAST_VERIFY }, async (p) => {
      p.sim("room-101").setMemoryFull(true);
      await p.ok("key.upsert", keyPayload(p, "k-1", ["room-101"]));
      const s = await p.waitForKey("k-1", (x) => x.state === "failed");
      expect(s.doors[0]).toMatchObject({ state: "failed", reasons: ["lock_memory_full"] });
      expect(s.doorCode).toMatchObject({ state: "failed", reason: "lock_memory_full" });
      await p.waitFor("credential.failed", () => p.events("credential.failed").find((e) => e.keyId === "k-1" && e.reason === "lock_memory_full"));
      p.sim("room-101").setMemoryFull(false);
      const fixed = await p.waitForKey("k-1", (x) => x.state === "active");
      expect(p.sim("room-101").enterCode(codeOf(fixed)).granted).toBe(true);
      expect(p.events("credential.provisioned").some((e) => e.keyId === "k-1")).toBe(true);
    });
  });

  it("MEMORY_FULL that ends with no slot freed by the hub: retried at a poll after a backoff, not only at the 15-minute check (chaos run: full lock memory)", async () => {
    // The default routine check (15 minutes).
    await withProperty({ rooms: 1, commons: [] }, async (p) => {
      p.sim("room-101").setMemoryFull(true);
      await p.ok("key.upsert", keyPayload(p, "k-1", ["room-101"]));
      await p.waitForKey("k-1", (x) => x.state === "failed");
      p.sim("room-101").setMemoryFull(false); // freed at the lock, not by the hub
      p.clock.jump(61_000);
      const fixed = await p.waitForKey("k-1", (x) => x.state === "active");
      expect(p.sim("room-101").enterCode(codeOf(fixed)).granted).toBe(true);
    });
  });

  it("a credential type the lock lacks -> failed (not_supported), the other types still work", async () => {
    const noMobile = { ...TEST_ROOM_PROFILE, capabilities: TEST_ROOM_PROFILE.capabilities.filter((c) => c !== "mobileKeys"), slots: { doorCode: 32, keycard: 32, smartKey: 0 } };
    await withProperty({ rooms: 1, commons: [], roomProfile: noMobile }, async (p) => {
      const publicKey = Buffer.alloc(32, 7).toString("base64");
      await p.ok("key.upsert", keyPayload(p, "k-1", ["room-101"], { smartKey: { enabled: true, publicKey } }));
      const s = await p.waitForKey("k-1", (x) => x.state === "failed");
      expect(s.doors[0]).toMatchObject({ state: "failed", reasons: ["not_supported"] });
      expect(s.smartKey).toEqual({ state: "failed", reason: "not_supported" });
      await p.settle();
      expect(p.sim("room-101").enterCode(codeOf(s)).granted).toBe(true);
    });
  });

  it("the lock's status flags: a lock that lost power gets its clock set again", async () => {
    await withProperty({ rooms: 1, commons: [], ...FAST_VERIFY }, async (p) => {
      const lock = p.sim("room-101");
      lock.powerLoss();
      expect(lock.statusFlags & StatusFlag.CLOCK_NOT_SET).not.toBe(0);
      await p.waitFor("lock.clock_lost", () => p.events("lock.clock_lost").find((e) => e.lockId === p.lockIdOf("room-101")));
      await p.waitFor("clock set", () => (lock.statusFlags & StatusFlag.CLOCK_NOT_SET) === 0);
      expect(Math.abs(lock.time - Math.floor(p.clock.now() / 1000))).toBeLessThanOrEqual(2);
    });
  });

  it("a lock that lost power and its credential memory with it is provisioned again at once, not at the next routine check (chaos run: lock memory loss)", async () => {
    // The default routine check (15 minutes): only the power loss itself can make the hub look.
    await withProperty({ rooms: 1, commons: [] }, async (p) => {
      await p.ok("keycards.upsert", { cards: [{ cardId: "c1", uid: "04a1b2c3d4e5f6", label: "1" }] });
      await p.ok("key.upsert", keyPayload(p, "k-1", ["room-101"], { keycard: { enabled: true, cardId: "c1" } }));
      const s = await p.waitForKey("k-1", (x) => x.state === "active");
      const lock = p.sim("room-101");
      lock.powerLoss();
      lock.memoryLoss();
      expect(lock.enterCode(codeOf(s)).granted).toBe(false);
      await p.waitFor("lock.clock_lost", () => p.events("lock.clock_lost").find((e) => e.lockId === p.lockIdOf("room-101")));
      await p.waitFor("code and card restored", () => lock.table(CredentialKind.DOOR_CODE)!.used === 1 && lock.table(CredentialKind.KEYCARD)!.used === 1);
      expect(lock.enterCode(codeOf(s)).granted).toBe(true);
      expect(lock.presentCard("04a1b2c3d4e5f6").granted).toBe(true);
    });
  });
});
