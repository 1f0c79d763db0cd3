/**
 * A sync.snapshot derives its keys' slot rows in one batch at its end (DesiredState
 * beginBatch/endBatch through the snapshot effects) instead of once per key as it applies
 * them. These tests hold the batch to what the key-by-key derivation gave: the same slot rows
 * (slot numbers included), door codes, unplaced credentials and statuses; each lock woken and
 * told once per snapshot; and nothing left open when the snapshot's transaction rolls back.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { Key } from "../../../src/access/model.js";
import type { KeyChangeContext } from "../../../src/cloud/handlers/key-commands.js";
import { desiredStateEffects } from "../../../src/provisioning/desired/desired-effects.js";
import { KeyService } from "../../../src/provisioning/desired/key-service.js";
import { ProvisioningEngine } from "../../../src/provisioning/engine.js";
import { createLogger } from "../../../src/shared/logger.js";
import { seededRandom } from "../../../src/shared/random.js";
import { makeDoor, makeEntry, makeKey, makeSite } from "../../helpers/access-fixtures.js";
import { tempStore } from "../../helpers/store.js";

const log = createLogger({ level: "silent" });
const ROOMS = 6;

/** A property: ROOMS rooms linked to a lobby (few code slots: some keys find none) and a gym. */
function property(lobbyCodeSlots: number) {
  const t = tempStore();
  const { store, clock } = t;
  store.site.put(makeSite());
  const lock = (lockId: string, codeSlots: number): void => {
    store.locks.upsert({ lockId, profileId: "p", link: { type: "tcp", host: "h", port: 1, address: 1 } });
    store.locks.setIdent(lockId, { protocolVersion: 1, lockId, model: "m", firmware: "1", capabilities: 0x7f, codeMinLen: 4, codeMaxLen: 10, codeSlots, cardSlots: 32, mobileKeySlots: 16 });
    store.locks.setState(lockId, "commissioned");
  };
  lock("lock-lobby", lobbyCodeSlots);
  lock("lock-gym", 500);
  store.doors.upsert(makeDoor("lobby"));
  store.doors.upsert(makeDoor("gym"));
  for (let r = 0; r < ROOMS; r++) {
    lock(`lock-room-${r}`, 32);
    store.doors.upsert(makeDoor(`room-${r}`, { linkedDoorIds: ["lobby", "gym"] }));
  }
  const told = { keys: new Map<string, number>(), locks: new Map<string, number>() };
  const count = (m: Map<string, number>, id: string) => m.set(id, (m.get(id) ?? 0) + 1);
  const engine = new ProvisioningEngine({
    store,
    clock,
    log,
    events: { emit: () => 0 },
    status: { keyChanged: (id) => count(told.keys, id), lockChanged: (id) => count(told.locks, id) },
    links: { open: () => Promise.reject(new Error("no locks in unit tests")) },
  });
  const rnd = seededRandom(11);
  const keys = new KeyService(store, { desired: engine.desired, statuses: engine.statuses, clock }, { random: { int: (n) => Math.floor(rnd() * n) } });
  const effects = desiredStateEffects(store, engine.desired);
  const ctx: KeyChangeContext = { clock, log, origin: "snapshot", emit: () => undefined, keyChanged: () => undefined, lockChanged: () => undefined };
  return { t, store, engine, keys, effects, ctx, told };
}
type Property = ReturnType<typeof property>;

const props: Property[] = [];
afterEach(() => {
  for (const p of props.splice(0)) p.t.cleanup();
});

const guest = (i: number, over: Partial<Key> = {}): Key => makeKey(`k-${String(i).padStart(3, "0")}`, { doors: [makeEntry(`room-${i % ROOMS}`)], ...over });

/** What a property's derivation produced: slot rows per lock, door codes, statuses (no updatedAt). */
function outcome(p: Property) {
  const { store, engine } = p;
  const rows = store.locks.list().map((l) => [
    l.lockId,
    store.slots
      .forLock(l.lockId)
      .filter((r) => r.desired)
      .map((r) => [r.kind, r.slot, store.credentials.get(r.desired!.credentialId)!.keyId, r.desired!.validFrom, r.desired!.validUntil, r.desired!.secretDigest.toString("hex")]),
  ]);
  const ids = store.keys.ids({ includeRemoved: true });
  const codes = ids.map((id) => [id, store.credentials.currentOf(id, "doorCode")?.value ?? null]);
  const statuses = ids.map((id) => {
    const s = engine.statuses.keyStatus(id);
    return s === null ? [id, null] : [id, { ...s, updatedAt: undefined }];
  });
  return { rows, codes, statuses };
}

/** Applies the changes as the snapshot handler does: one transaction, one batch. */
function asSnapshot(p: Property, upserts: Key[], removes: string[] = []): void {
  p.store.transaction(() => {
    p.effects.snapshotApplying();
    for (const id of removes) p.keys.remove(id, p.store.keys.get(id)!.version, p.ctx);
    for (const k of upserts) p.keys.upsert(k, p.ctx);
    p.effects.snapshotApplied();
  });
}

/** The same changes key by key, each derived at once (what a snapshot did before the batch). */
function keyByKey(p: Property, upserts: Key[], removes: string[] = []): void {
  p.store.transaction(() => {
    for (const id of removes) p.keys.remove(id, p.store.keys.get(id)!.version, p.ctx);
    for (const k of upserts) p.keys.upsert(k, p.ctx);
  });
}

describe("a snapshot derived in one batch", () => {
  /** A first snapshot of 14 keys, then a second: two keys gone, one moved, one checked out, three new. */
  const first = Array.from({ length: 14 }, (_, i) => guest(i));
  const second = first
    .filter((k) => k.keyId !== "k-002" && k.keyId !== "k-005")
    .map((k) => (k.keyId === "k-007" ? { ...k, version: 2, doors: [makeEntry("room-3")] } : k.keyId === "k-009" ? { ...k, version: 2, checkedIn: false } : k))
    .concat([guest(20), guest(21), guest(22)]);
  /** Two properties (lobby of `lobbySlots` code slots) given `first`, one as a snapshot, one key by key: they must agree. */
  const sameFirstSnapshot = (lobbySlots: number): { batched: Property; single: Property } => {
    const batched = property(lobbySlots);
    const single = property(lobbySlots);
    props.push(batched, single);
    asSnapshot(batched, first);
    keyByKey(single, first);
    expect(outcome(batched)).toEqual(outcome(single));
    return { batched, single };
  };
  const failedKeys = (p: Property) => outcome(p).statuses.filter(([, s]) => JSON.stringify(s).includes("lock_memory_full")).map(([id]) => id);

  it("gives the same slot rows (slot numbers too), door codes and statuses as key by key", () => {
    const { batched, single } = sameFirstSnapshot(500);
    asSnapshot(batched, second, ["k-002", "k-005"]);
    keyByKey(single, second, ["k-002", "k-005"]);
    expect(outcome(batched)).toEqual(outcome(single));
  });

  it("on a full lock: as many keys find no slot as key by key; the slots it frees go to waiting keys in the snapshot's order", () => {
    // A lobby of 10 code slots: of 14 keys the last four find none (lock_memory_full).
    const { batched, single } = sameFirstSnapshot(10);
    expect(failedKeys(batched)).toEqual(["k-010", "k-011", "k-012", "k-013"]);
    // The second snapshot frees three lobby slots (two keys removed, one checked out). Key by
    // key, which waiting keys took them followed the order the hub had met them in; in the
    // batch, the snapshot's key order. Either way three of them are placed and the rest wait.
    asSnapshot(batched, second, ["k-002", "k-005"]);
    keyByKey(single, second, ["k-002", "k-005"]);
    expect(failedKeys(batched)).toEqual(["k-013", "k-020", "k-021", "k-022"]);
    expect(failedKeys(single)).toHaveLength(4);
    const lobby = (p: Property) => outcome(p).rows.find(([l]) => l === "lock-lobby")![1] as unknown[][];
    expect(lobby(batched).map((r) => r[2])).toEqual(["k-000", "k-001", "k-010", "k-003", "k-004", "k-011", "k-006", "k-007", "k-008", "k-012"]);
    expect(lobby(single)).toHaveLength(10);
    // Everything but the lobby (and the four keys it concerns) is the same.
    const rest = (p: Property) => ({ ...outcome(p), rows: outcome(p).rows.filter(([l]) => l !== "lock-lobby"), statuses: outcome(p).statuses.filter(([id]) => !["k-010", "k-011", "k-012", "k-013"].includes(id as string)) });
    expect(rest(batched)).toEqual(rest(single));
  });

  it("wakes and tells each lock once and each key once, however many keys it holds", () => {
    const p = property(500);
    props.push(p);
    asSnapshot(p, Array.from({ length: 30 }, (_, i) => guest(i)));
    expect(p.told.locks.get("lock-lobby")).toBe(1);
    expect(p.told.locks.get("lock-gym")).toBe(1);
    expect(p.told.locks.get("lock-room-0")).toBe(1);
    expect([...p.told.keys.values()].every((n) => n === 1)).toBe(true);
    expect(p.told.keys.size).toBe(30);

    // Key by key (a key.upsert per key), the lobby is told once per key.
    const q = property(500);
    props.push(q);
    keyByKey(q, Array.from({ length: 30 }, (_, i) => guest(i)));
    expect(q.told.locks.get("lock-lobby")).toBe(30);
  });

  it("a snapshot refused half-way derives nothing and leaves no batch open", () => {
    const p = property(500);
    props.push(p);
    expect(() =>
      p.store.transaction(() => {
        p.effects.snapshotApplying();
        p.keys.upsert(guest(1), p.ctx);
        throw new Error("refused");
      }),
    ).toThrow("refused");
    expect(p.store.keys.get("k-001")).toBeUndefined();
    expect(p.store.slots.forLock("lock-lobby")).toEqual([]);
    // The next key.upsert is derived at once, not collected into a batch nobody closes.
    p.store.transaction(() => p.keys.upsert(guest(2), p.ctx));
    expect(p.store.slots.forLock("lock-lobby").filter((r) => r.desired)).toHaveLength(1);
    expect(p.engine.statuses.keyStatus("k-002")?.doors.map((d) => d.doorId)).toEqual(["room-2", "lobby", "gym"]);
  });

  it("a batch a committed transaction left open is derived by the next transaction, not kept open", () => {
    const p = property(500);
    props.push(p);
    p.store.transaction(() => {
      p.effects.snapshotApplying();
      p.keys.upsert(guest(1), p.ctx);
    });
    expect(p.store.slots.forLock("lock-lobby")).toEqual([]);
    p.store.transaction(() => undefined);
    expect(p.store.slots.forLock("lock-lobby").filter((r) => r.desired)).toHaveLength(1);
    p.store.transaction(() => p.keys.upsert(guest(2), p.ctx));
    expect(p.store.slots.forLock("lock-lobby").filter((r) => r.desired)).toHaveLength(2);
  });
});
