import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { isLockBridgeError } from "../../../src/shared/errors.js";
import { openStore, type DesiredSlotContent, type Store } from "../../../src/store/index.js";
import { tempDir, tempStore } from "../../helpers/store.js";

const link = { type: "tcp", host: "10.0.0.5", port: 4001, address: 3 } as const;
const digest = (n: number): Buffer => Buffer.from([n, n, n, n]);
const content = (credentialId: number, n = credentialId): DesiredSlotContent => ({
  credentialId,
  validFrom: 1_767_279_600,
  validUntil: 1_767_538_800,
  flags: 0,
  secretDigest: digest(n),
});

function withLock(store: Store, lockId = "L1"): void {
  store.locks.upsert({ lockId, profileId: "acme-rf", link });
}

describe("locks and sealing counters", () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => cleanups.splice(0).forEach((c) => c()));

  it("commissions a lock, keeps ident, health, key and acknowledged event seq", () => {
    const t = tempStore();
    cleanups.push(t.cleanup);
    expect(t.store.locks.upsert({ lockId: "L1", profileId: "acme-rf", link })).toBe(true);
    expect(t.store.locks.get("L1")).toMatchObject({ state: "commissioning", linkKey: null, online: false, lastEventSeq: 0, commissionedAt: null });
    t.clock.advance(1000);
    t.store.locks.setLinkKey("L1", Buffer.alloc(16, 7));
    t.store.locks.setIdent("L1", { protocolVersion: 1, lockId: "l1", model: "RF-200", firmware: "1.2.0", capabilities: 0, codeSlots: 200, cardSlots: 50, mobileKeySlots: 20, codeMinLen: 4, codeMaxLen: 8 });
    expect(t.store.locks.setState("L1", "commissioned")).toBe(true);
    t.store.locks.updateHealth("L1", { online: true, lastSeen: t.clock.now(), battery: 81, doorOpen: false });
    t.store.locks.updateHealth("L1", { battery: 80 });
    t.store.locks.setLastEventSeq("L1", 42);
    t.store.locks.setLastEventSeq("L1", 40); // never backwards
    const lock = t.store.locks.get("L1");
    expect(lock).toMatchObject({
      profileId: "acme-rf",
      link,
      state: "commissioned",
      ident: { model: "RF-200", firmware: "1.2.0", codeSlots: 200 },
      online: true,
      battery: 80,
      doorOpen: false,
      lastEventSeq: 42,
      commissionedAt: t.clock.now(),
    });
    expect(lock?.linkKey?.equals(Buffer.alloc(16, 7))).toBe(true);
    expect(t.store.locks.upsert({ lockId: "L1", profileId: "acme-rf-2", link })).toBe(false);
    expect(t.store.locks.get("L1")?.state).toBe("commissioned");
    expect(() => t.store.locks.setLinkKey("L1", Buffer.alloc(8))).toThrow(RangeError);
    expect(t.store.locks.list().map((l) => l.lockId)).toEqual(["L1"]);
  });

  it("reserves hub counters in blocks whose high-water mark survives a reopen; never reuses one", () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const file = path.join(dir, "s.db");
    let store = openStore(file);
    withLock(store);
    expect(store.counters.reserveHubCounters("L1", 16)).toEqual({ first: 1, last: 16 });
    expect(store.counters.reserveHubCounters("L1", 16)).toEqual({ first: 17, last: 32 });
    store.close(); // as if the process died having used only counter 17
    store = openStore(file);
    expect(store.counters.hubCounterHighWater("L1")).toBe(32);
    expect(store.counters.reserveHubCounters("L1", 1)).toEqual({ first: 33, last: 33 });
    // A new link key does not restart the hub's counter: it never decreases (LLP §9.3).
    store.locks.setLinkKey("L1", Buffer.alloc(16, 1));
    expect(store.counters.reserveHubCounters("L1", 4)).toEqual({ first: 34, last: 37 });
    try {
      store.counters.reserveHubCounters("nope", 1);
      expect.unreachable();
    } catch (e) {
      expect(isLockBridgeError(e, "unknown_lock")).toBe(true);
    }
    expect(() => store.counters.reserveHubCounters("L1", 0xffff_ffff)).toThrow(/exhausted/);
    store.close();
  });

  it("accepts only increasing lock counters (replay protection)", () => {
    const t = tempStore();
    cleanups.push(t.cleanup);
    withLock(t.store);
    expect(t.store.counters.acceptLockCounter("L1", 5)).toBe(true);
    expect(t.store.counters.acceptLockCounter("L1", 5)).toBe(false);
    expect(t.store.counters.acceptLockCounter("L1", 3)).toBe(false);
    expect(t.store.counters.acceptLockCounter("L1", 6)).toBe(true);
    expect(t.store.counters.lastLockCounter("L1")).toBe(6);
  });
});

describe("lock slots", () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => cleanups.splice(0).forEach((c) => c()));

  function setup(): ReturnType<typeof tempStore> & { cred: (keyId: string, value: string) => number } {
    const t = tempStore();
    cleanups.push(t.cleanup);
    withLock(t.store);
    const cred = (keyId: string, value: string): number => t.store.credentials.assign({ keyId, kind: "doorCode", value, assignment: "random" }).credentialId;
    return { ...t, cred };
  }

  it("allocates the lowest free slot, keeps a credential's slot stable, and reports a full table", () => {
    const t = setup();
    const a = t.cred("k-a", "111111");
    const b = t.cred("k-b", "222222");
    const c = t.cred("k-c", "333333");
    expect(t.store.slots.assign("L1", "doorCode", content(a), 2)).toBe(0);
    expect(t.store.slots.assign("L1", "doorCode", content(b), 2)).toBe(1);
    expect(t.store.slots.assign("L1", "doorCode", content(c), 2)).toBeNull();
    // The same credential with a new window keeps slot 0.
    expect(t.store.slots.assign("L1", "doorCode", { ...content(a), validUntil: 1_800_000_000 }, 2)).toBe(0);
    expect(t.store.slots.get("L1", "doorCode", 0)?.desired?.validUntil).toBe(1_800_000_000);
    // Kinds have separate tables.
    const card = t.store.credentials.assign({ keyId: "k-a", kind: "keycard", value: "card-1" }).credentialId;
    expect(t.store.slots.assign("L1", "keycard", content(card), 2)).toBe(0);
    expect(t.store.slots.slotOf("L1", "doorCode", b)).toBe(1);
  });

  it("tracks desired versus applied, failures with retry time, and reuses revoked slots only when free", () => {
    const t = setup();
    const a = t.cred("k-a", "111111");
    const b = t.cred("k-b", "222222");
    t.store.slots.assign("L1", "doorCode", content(a), 3);
    t.store.slots.assign("L1", "doorCode", content(b), 3);
    expect(t.store.slots.outOfSync("L1").map((s) => s.slot)).toEqual([0, 1]);

    t.store.slots.markFailed("L1", "doorCode", 1, "lock_offline", t.clock.now() + 5000);
    t.store.slots.markFailed("L1", "doorCode", 1, "lock_offline", t.clock.now() + 10_000);
    expect(t.store.slots.get("L1", "doorCode", 1)).toMatchObject({ lastError: "lock_offline", attempts: 2 });
    expect(t.store.slots.due(t.clock.now() + 9999)).toEqual([]);
    expect(t.store.slots.due(t.clock.now() + 10_000).map((s) => s.slot)).toEqual([1]);

    t.store.slots.markApplied("L1", "doorCode", 0, content(a));
    t.store.slots.markApplied("L1", "doorCode", 1, content(b));
    expect(t.store.slots.outOfSync("L1")).toEqual([]);
    expect(t.store.slots.get("L1", "doorCode", 1)).toMatchObject({ lastError: null, attempts: 0, nextAttemptAt: null, inSync: true });
    expect(t.store.slots.usedCounts("L1")).toEqual({ doorCode: 2, keycard: 0, smartKey: 0 });

    // Revoke a: slot 0 should become empty; until the lock confirms, it is not reused.
    t.store.credentials.revoke(a);
    t.store.slots.clearDesired("L1", "doorCode", 0);
    expect(t.store.slots.outOfSync("L1").map((s) => s.slot)).toEqual([0]);
    const c = t.cred("k-c", "333333");
    expect(t.store.slots.assign("L1", "doorCode", content(c), 3)).toBe(2);
    t.store.slots.markApplied("L1", "doorCode", 0, null);
    const d = t.cred("k-d", "444444");
    expect(t.store.slots.assign("L1", "doorCode", content(d), 3)).toBe(0);
    expect(t.store.slots.byCredential(d).map((s) => s.slot)).toEqual([0]);
  });

  it("finds the lowest free slot across gaps: below a stranger's slot first, then past the last row, then an unwanted one", () => {
    const t = setup();
    // The lock holds something nobody put there in slot 3: rows exist only for slot 3.
    t.store.slots.recordObserved("L1", "doorCode", 3, 1, [{ slot: 3, validFrom: 0, validUntil: 0, flags: 0, secretDigest: digest(99) }]);
    const ids = ["1", "2", "3", "4", "5", "6"].map((n) => t.cred(`k-${n}`, n.repeat(6)));
    // Slots 0..2 have no row (a gap below 3), then 4 and 5 are past the last row; 3 is not clean.
    expect(ids.slice(0, 5).map((id) => t.store.slots.assign("L1", "doorCode", content(id), 6))).toEqual([0, 1, 2, 4, 5]);
    // Only the stranger's slot is left: a PUT may overwrite what nobody wants.
    expect(t.store.slots.assign("L1", "doorCode", content(ids[5]!), 6)).toBe(3);
  });

  it("finds the gap a pruned row left, and past the last row again once it is filled (the row count kept by the store)", () => {
    const t = setup();
    const ids = ["1", "2", "3", "4"].map((n) => t.cred(`k-${n}`, n.repeat(6)));
    expect(ids.slice(0, 3).map((id) => t.store.slots.assign("L1", "doorCode", content(id), 10))).toEqual([0, 1, 2]);
    // Slot 1 is given up and confirmed empty, then pruned: no row, a gap below the last row.
    t.store.slots.clearDesired("L1", "doorCode", 1);
    t.store.slots.markApplied("L1", "doorCode", 1, null);
    expect(t.store.slots.prune("L1")).toBe(1);
    expect(t.store.slots.assign("L1", "doorCode", content(ids[3]!), 10)).toBe(1);
    const e = t.cred("k-5", "555555");
    expect(t.store.slots.assign("L1", "doorCode", content(e), 10)).toBe(3);
    // A rolled-back insert leaves the count as it was: the next slot is still the next one.
    expect(() =>
      t.store.transaction(() => {
        t.store.slots.assign("L1", "doorCode", content(t.cred("k-6", "616161")), 10);
        throw new Error("refused");
      }),
    ).toThrow("refused");
    expect(t.store.slots.assign("L1", "doorCode", content(t.cred("k-7", "717171")), 10)).toBe(4);
  });

  it("records a READ_SLOTS answer: known content keeps its credential, strangers are foreign, missing slots empty", () => {
    const t = setup();
    const a = t.cred("k-a", "111111");
    const b = t.cred("k-b", "222222");
    t.store.slots.assign("L1", "doorCode", content(a), 10);
    t.store.slots.assign("L1", "doorCode", content(b), 10);
    t.store.slots.markApplied("L1", "doorCode", 1, content(b));
    // The lock holds a (as desired), lost b, and has something in slot 5 nobody put there.
    const { credentialId: _a, ...aSeen } = content(a);
    t.store.slots.recordObserved("L1", "doorCode", 0, 10, [
      { slot: 0, ...aSeen },
      { slot: 5, validFrom: 0, validUntil: 0xffffffff, flags: 0, secretDigest: digest(99) },
    ]);
    const slots = t.store.slots.forLock("L1", "doorCode");
    expect(slots.map((s) => [s.slot, s.appliedState, s.applied?.credentialId ?? null, s.inSync])).toEqual([
      [0, "held", a, true],
      [1, "empty", null, false],
      [5, "held", null, false],
    ]);
    // Factory reset: everything the hub recorded is gone from the lock.
    t.store.slots.resetApplied("L1", "empty");
    expect(t.store.slots.forLock("L1").every((s) => s.appliedState === "empty")).toBe(true);
    expect(t.store.slots.prune("L1")).toBe(1); // slot 5: nothing desired, known empty
    expect(t.store.slots.forLock("L1").map((s) => s.slot)).toEqual([0, 1]);
  });

  it("a READ_SLOTS observation is not a success: the slot keeps its error and retry schedule", () => {
    const t = setup();
    const a = t.cred("k-a", "111111");
    t.store.slots.assign("L1", "doorCode", content(a), 10);
    t.store.slots.markFailed("L1", "doorCode", 0, "lock_offline", t.clock.now() + 5000);
    const { credentialId: _a, ...aSeen } = content(a);
    t.store.slots.recordObserved("L1", "doorCode", 0, 10, [{ slot: 0, ...aSeen }]);
    expect(t.store.slots.get("L1", "doorCode", 0)).toMatchObject({
      appliedState: "held",
      inSync: true,
      lastError: "lock_offline",
      attempts: 1,
      nextAttemptAt: t.clock.now() + 5000,
    });
    t.store.slots.markApplied("L1", "doorCode", 0, content(a));
    expect(t.store.slots.get("L1", "doorCode", 0)).toMatchObject({ lastError: null, attempts: 0, nextAttemptAt: null });
  });

  it("removing a lock removes its slot table", () => {
    const t = setup();
    const a = t.cred("k-a", "111111");
    t.store.slots.assign("L1", "doorCode", content(a), 10);
    expect(t.store.locks.remove("L1")).toBe(true);
    expect(t.store.slots.forLock("L1")).toEqual([]);
  });
});
