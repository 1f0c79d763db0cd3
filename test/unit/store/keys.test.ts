import { afterEach, describe, expect, it } from "vitest";
import { sampleKey, tempStore } from "../../helpers/store.js";

describe("keys repository", () => {
  let t: ReturnType<typeof tempStore>;
  afterEach(() => t.cleanup());

  it("stores a key with its door entries and reads it back unchanged", () => {
    t = tempStore();
    const key = sampleKey("k-1", {
      source: "pms",
      pms: { provider: "mews", reservationId: "R-9" },
      checkedIn: false,
      doorCode: { enabled: true, assignment: "strict", code: "482916" },
      keycard: { enabled: true, cardId: "card-7" },
      smartKey: { enabled: true, publicKey: "AAAA" },
    });
    expect(t.store.keys.upsert(key)).toBe("applied");
    const got = t.store.keys.get("k-1");
    expect(got).toMatchObject(key);
    expect(got?.doors.map((d) => d.doorId)).toEqual(["room-101", "lobby"]);
    expect(got?.removedAt).toBeNull();
  });

  it("answers stale for a lower version and changes nothing; equal or higher versions apply", () => {
    t = tempStore();
    t.store.keys.upsert(sampleKey("k-1", { version: 5, holder: { name: "Five" } }));
    expect(t.store.keys.upsert(sampleKey("k-1", { version: 4, holder: { name: "Four" } }, ["gym"]))).toBe("stale");
    expect(t.store.keys.get("k-1")?.holder?.name).toBe("Five");
    expect(t.store.keys.get("k-1")?.doors.map((d) => d.doorId)).toEqual(["room-101", "lobby"]);

    expect(t.store.keys.upsert(sampleKey("k-1", { version: 5, holder: { name: "Five again" } }))).toBe("applied");
    expect(t.store.keys.upsert(sampleKey("k-1", { version: 6 }, ["room-202"]))).toBe("applied");
    const got = t.store.keys.get("k-1");
    expect(got?.version).toBe(6);
    expect(got?.doors.map((d) => d.doorId)).toEqual(["room-202"]);
  });

  it("remove leaves a tombstone that answers older upserts stale; a newer upsert revives the key", () => {
    t = tempStore();
    t.store.keys.upsert(sampleKey("k-1", { version: 2 }));
    expect(t.store.keys.remove("k-1", 1)).toBe("stale");
    expect(t.store.keys.get("k-1")?.removedAt).toBeNull();
    t.clock.advance(1000);
    expect(t.store.keys.remove("k-1", 3)).toBe("applied");
    expect(t.store.keys.get("k-1")?.removedAt).toBe(t.clock.now());
    expect(t.store.keys.ids()).toEqual([]);
    expect(t.store.keys.ids({ includeRemoved: true })).toEqual(["k-1"]);
    expect(t.store.keys.upsert(sampleKey("k-1", { version: 3 }))).toBe("stale");
    expect(t.store.keys.upsert(sampleKey("k-1", { version: 4 }))).toBe("applied");
    expect(t.store.keys.get("k-1")?.removedAt).toBeNull();
    expect(t.store.keys.remove("nope", 1)).toBeUndefined();
    expect(t.store.keys.purge("k-1")).toBe(true);
    expect(t.store.keys.get("k-1")).toBeUndefined();
  });

  it("lists keys with their doors, finds keys by door, and checks keys in", () => {
    t = tempStore();
    t.store.keys.upsert(sampleKey("k-b", {}, ["room-102", "lobby"]));
    t.store.keys.upsert(sampleKey("k-a", { source: "pms", checkedIn: false }, ["room-101", "lobby"]));
    t.store.keys.upsert(sampleKey("k-c", {}, ["room-103"]));
    t.store.keys.remove("k-c", 1);
    expect(t.store.keys.list().map((k) => [k.keyId, k.doors.map((d) => d.doorId)])).toEqual([
      ["k-a", ["room-101", "lobby"]],
      ["k-b", ["room-102", "lobby"]],
    ]);
    expect(t.store.keys.list({ includeRemoved: true })).toHaveLength(3);
    expect(t.store.keys.idsByDoor("lobby")).toEqual(["k-a", "k-b"]);
    expect(t.store.keys.count()).toBe(2);
    expect(t.store.keys.setCheckedIn("k-a", true)).toBe(true);
    expect(t.store.keys.get("k-a")?.checkedIn).toBe(true);
    expect(t.store.keys.setCheckedIn("k-c", true)).toBe(false);
  });

  it("a failing multi-row change inside store.transaction leaves nothing behind", () => {
    t = tempStore();
    expect(() =>
      t.store.transaction(() => {
        t.store.keys.upsert(sampleKey("k-1"));
        t.store.outbox.append({ type: "credential.provisioned", keyId: "k-1" });
        throw new Error("boom");
      }),
    ).toThrow("boom");
    expect(t.store.keys.get("k-1")).toBeUndefined();
    expect(t.store.outbox.depth().total).toBe(0);
    // A key whose door entries violate the schema is not half-stored either.
    const bad = sampleKey("k-2", {}, ["room-101", "room-101"]);
    expect(() => t.store.keys.upsert(bad)).toThrow();
    expect(t.store.keys.get("k-2")).toBeUndefined();
  });
});
