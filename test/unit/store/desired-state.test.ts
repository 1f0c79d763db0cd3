import { afterEach, describe, expect, it } from "vitest";
import { isLockBridgeError } from "../../../src/shared/errors.js";
import { makeSite } from "../../helpers/access-fixtures.js";
import { sampleDoor, tempStore } from "../../helpers/store.js";

describe("site, doors, meta, snapshot pages", () => {
  let t: ReturnType<typeof tempStore>;
  afterEach(() => t.cleanup());

  it("site: none until configured, then exactly what was put", () => {
    t = tempStore();
    expect(t.store.site.get()).toBeUndefined();
    t.store.site.put(makeSite());
    const changed = makeSite({ timezone: "America/New_York", credentialTypes: { doorCode: true, keycard: false, smartKey: true }, doorCodeLength: 8 });
    t.store.site.put(changed);
    expect(t.store.site.get()).toEqual(changed);
    expect(t.store.site.clear()).toBe(true);
    expect(t.store.site.get()).toBeUndefined();
  });

  it("doors: upsert reports added/updated, keeps link order, finds rooms linked to a common door", () => {
    t = tempStore();
    expect(t.store.doors.upsert(sampleDoor("lobby", { kind: "common", lockId: "L-lobby" }))).toBe("added");
    expect(t.store.doors.upsert(sampleDoor("room-101", { linkedDoorIds: ["lobby", "gym"], protectConfiguration: true }))).toBe("added");
    expect(t.store.doors.upsert(sampleDoor("room-102", { linkedDoorIds: ["lobby"], lockId: null }))).toBe("added");
    expect(t.store.doors.get("room-101")).toEqual(sampleDoor("room-101", { linkedDoorIds: ["lobby", "gym"], protectConfiguration: true }));
    expect(t.store.doors.roomsLinkedTo("lobby")).toEqual(["room-101", "room-102"]);
    expect(t.store.doors.upsert(sampleDoor("room-101", { linkedDoorIds: ["gym"] }))).toBe("updated");
    expect(t.store.doors.roomsLinkedTo("lobby")).toEqual(["room-102"]);
    expect(t.store.doors.byLock("L-lobby").map((d) => d.doorId)).toEqual(["lobby"]);
    expect(t.store.doors.list().map((d) => [d.doorId, d.linkedDoorIds])).toEqual([
      ["lobby", []],
      ["room-101", ["gym"]],
      ["room-102", ["lobby"]],
    ]);
    expect(t.store.doors.remove("room-102")).toBe(true);
    expect(t.store.doors.roomsLinkedTo("lobby")).toEqual([]);
    expect(t.store.doors.remove("room-102")).toBe(false);
  });

  it("meta: sessionId grows by one per call and persists; values round-trip", () => {
    t = tempStore();
    expect(t.store.meta.currentSessionId()).toBe(0);
    expect([t.store.meta.nextSessionId(), t.store.meta.nextSessionId(), t.store.meta.nextSessionId()]).toEqual([1, 2, 3]);
    expect(t.store.meta.currentSessionId()).toBe(3);
    t.store.meta.set("lastBootId", "b-1");
    expect(t.store.meta.get("lastBootId")).toBe("b-1");
    expect(t.store.meta.delete("lastBootId")).toBe(true);
    expect(t.store.meta.get("lastBootId")).toBeUndefined();
  });

  it("snapshot pages: complete when every page arrived; a new snapshotId drops the old one; expiry after 10 minutes", () => {
    t = tempStore();
    expect(t.store.snapshots.putPage("s1", 1, 3, { doors: [1] })).toMatchObject({ received: 1, complete: false });
    expect(t.store.snapshots.putPage("s1", 3, 3, { doors: [3] })).toMatchObject({ received: 2, complete: false });
    expect(t.store.snapshots.putPage("s1", 3, 3, { doors: [3] })).toMatchObject({ received: 2, complete: false });
    expect(t.store.snapshots.putPage("s1", 2, 3, { doors: [2] })).toMatchObject({ received: 3, complete: true });
    expect(t.store.snapshots.pages("s1")).toEqual([{ doors: [1] }, { doors: [2] }, { doors: [3] }]);

    expect(t.store.snapshots.putPage("s2", 1, 2, {})).toMatchObject({ received: 1, droppedPages: 3 });
    expect(t.store.snapshots.pages("s1")).toEqual([]);
    t.clock.advance(10 * 60 * 1000 + 1);
    expect(t.store.snapshots.dropExpired()).toBe(1);
    expect(() => t.store.snapshots.putPage("s3", 4, 3, {})).toThrow(RangeError);
  });

  it("keycards: inventory, one key per card, the key's card first then unused ones", () => {
    t = tempStore();
    t.store.keycards.upsert([
      { cardId: "c3", uid: "04A1B2C3", label: "Card 3" },
      { cardId: "c1", uid: "04A1B2C1", label: "Card 1" },
      { cardId: "c2", uid: "04A1B2C2", label: "Card 2" },
    ]);
    t.store.keycards.assign("c3", "k-1");
    t.store.keycards.assign("c1", "k-2");
    expect(t.store.keycards.listForKey("k-1").map((c) => c.cardId)).toEqual(["c3", "c2"]);
    expect(t.store.keycards.byUid("04a1b2c2")?.cardId).toBe("c2");
    try {
      t.store.keycards.assign("c1", "k-1");
      expect.unreachable();
    } catch (e) {
      expect(isLockBridgeError(e, "keycard_in_use")).toBe(true);
    }
    // Replacing k-1's card releases the old one.
    t.store.keycards.assign("c2", "k-1");
    expect(t.store.keycards.get("c3")?.assignedKeyId).toBeNull();
    expect(t.store.keycards.assignedTo("k-1")?.cardId).toBe("c2");
    expect(() => t.store.keycards.assign("nope", "k-1")).toThrow(/no keycard/);
    expect(t.store.keycards.remove(["c3", "zz"])).toBe(1);
    expect(t.store.keycards.list().map((c) => [c.cardId, c.assignedKeyId])).toEqual([
      ["c1", "k-2"],
      ["c2", "k-1"],
    ]);
  });

  it("credentials: one current per key and kind, revoked codes stay unavailable during cooling-off", () => {
    t = tempStore();
    const first = t.store.credentials.assign({ keyId: "k-1", kind: "doorCode", value: "482916", assignment: "random" });
    t.clock.advance(1000);
    const second = t.store.credentials.assign({ keyId: "k-1", kind: "doorCode", value: "735104", assignment: "preferred" });
    expect(t.store.credentials.get(first.credentialId)?.revokedAt).toBe(t.clock.now());
    expect(t.store.credentials.currentOf("k-1", "doorCode")?.value).toBe("735104");
    const revokedAt = t.clock.now();
    // With when each was revoked (null: current), so the cooling-off can end while the hub runs.
    expect([...t.store.credentials.unavailableDoorCodes(revokedAt)].sort()).toEqual([["482916", revokedAt], ["735104", null]]);
    expect([...t.store.credentials.unavailableDoorCodes(revokedAt + 1)]).toEqual([["735104", null]]);

    t.store.credentials.assign({ keyId: "k-1", kind: "keycard", value: "card-1" });
    try {
      t.store.credentials.assign({ keyId: "k-2", kind: "keycard", value: "card-1" });
      expect.unreachable();
    } catch (e) {
      expect(isLockBridgeError(e, "keycard_in_use")).toBe(true);
    }
    expect(t.store.credentials.current("k-1").map((c) => c.kind)).toEqual(["doorCode", "keycard"]);
    expect(t.store.credentials.revokeForKey("k-1")).toBe(2);
    expect(t.store.credentials.current("k-1")).toEqual([]);
    expect(t.store.credentials.history("k-1").map((c) => c.credentialId)).toEqual([first.credentialId, second.credentialId, 3]);
    t.clock.advance(1000);
    expect(t.store.credentials.purgeRevokedBefore(t.clock.now())).toBe(3);
  });
});
