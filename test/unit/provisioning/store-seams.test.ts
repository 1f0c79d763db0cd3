/** The engine's seams over the real store: group-committed lock counters, batched confirmed writes. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { StoreLinkState } from "../../../src/provisioning/reconcile/link-state.js";
import { SlotIndex } from "../../../src/provisioning/desired/slot-index.js";
import { APPLIED_FLUSH_MS, StoreLockTables } from "../../../src/provisioning/reconcile/store-adapter.js";
import { openStore, type Store } from "../../../src/store/index.js";
import type { ContractEvent } from "../../../src/provisioning/reconcile/lock-events.js";
import { tempStore } from "../../helpers/store.js";

let t: ReturnType<typeof tempStore>;
let store: Store;
beforeEach(() => {
  t = tempStore();
  store = t.store;
  for (const lockId of ["4c42000000000001", "4c42000000000002"]) store.locks.upsert({ lockId, profileId: "p", link: { type: "tcp", host: "h", port: 1, address: 1 } });
});
afterEach(() => t.cleanup());

describe("StoreLinkState", () => {
  it("accepted lock counters ride along with the next commit, whatever it is, or are written by flushCounters", () => {
    const ls = new StoreLinkState(store);
    ls.saveLastLockCounter("4c42000000000001", 5);
    ls.saveLastLockCounter("4c42000000000002", 9);
    ls.saveLastLockCounter("4c42000000000001", 7);
    expect(store.linkState.lastLockCounter("4c42000000000001")).toBe(0); // no commit of its own
    expect(ls.lastLockCounter("4c42000000000001")).toBe(7); // but never forgotten by the reader
    // Any effect committed after the answers carries their counters in the same transaction.
    store.transaction(() => store.meta.set("an-effect", "1"));
    const other = openStore(t.file);
    try {
      expect(other.linkState.lastLockCounter("4c42000000000001")).toBe(7);
      expect(other.linkState.lastLockCounter("4c42000000000002")).toBe(9);
    } finally {
      other.close();
    }
    // A rolled-back effect does not make them durable alone, but a flush does.
    ls.saveLastLockCounter("4c42000000000001", 11);
    expect(() => store.transaction(() => { throw new Error("effect failed"); })).toThrow("effect failed");
    ls.saveLastLockCounter("4c42000000000001", 12);
    ls.flushCounters();
    expect(store.linkState.lastLockCounter("4c42000000000001")).toBe(12);
    ls.close();
  });

  it("a commit that carried the counters and rolled back hands them back: the reader never goes below what the lock sent", () => {
    const ls = new StoreLinkState(store);
    ls.saveLastLockCounter("4c42000000000001", 21);
    // The effect fails (a refused command, a full disk): the counters it carried are not stored...
    expect(() => store.transaction(() => { store.meta.set("an-effect", "1"); throw new Error("effect failed"); })).toThrow("effect failed");
    expect(store.linkState.lastLockCounter("4c42000000000001")).toBe(0);
    // ...but are still the high-water mark (a replay of counter 15 must stay refused)...
    expect(ls.lastLockCounter("4c42000000000001")).toBe(21);
    // ...and the next commit stores them.
    store.transaction(() => store.meta.set("an-effect", "2"));
    expect(store.linkState.lastLockCounter("4c42000000000001")).toBe(21);
    ls.close();
  });

  it("a confirmed new key lands after the old key's counters (they restart at 0)", () => {
    const ls = new StoreLinkState(store);
    ls.saveLastLockCounter("4c42000000000001", 40);
    ls.savePendingLinkKey("4c42000000000001", Buffer.alloc(16, 1));
    ls.confirmPendingLinkKey("4c42000000000001");
    ls.flushCounters();
    store.transaction(() => store.meta.set("an-effect", "1"));
    expect(ls.lastLockCounter("4c42000000000001")).toBe(0);
    expect(store.linkState.lastLockCounter("4c42000000000001")).toBe(0);
    expect(ls.linkKeys("4c42000000000001").active?.equals(Buffer.alloc(16, 1))).toBe(true);
  });
});

/** A lock event as the worker hands it over (its other fields do not matter here). */
const ev = (type: string): ContractEvent => ({ type, at: "2026-12-01T12:00:00.000Z" }) as ContractEvent;

/** A door code desired in slot 0 of the lock's table (as the desired side assigns it). */
function desiredCode(lockId: string, keyId: string, code: string, digestHex: string) {
  store.credentials.assign({ keyId, kind: "doorCode", value: code });
  const cred = store.credentials.currentOf(keyId, "doorCode")!;
  const content = { credentialId: cred.credentialId, validFrom: 1, validUntil: 2, flags: 0, secretDigest: Buffer.from(digestHex, "hex") };
  store.slots.assign(lockId, "doorCode", content, 32);
  return { credentialId: cred.credentialId, content };
}

describe("StoreLockTables", () => {
  it("lock event pages drained within the window share one durable commit, settled only after it; a failed commit settles none as committed", async () => {
    const [a, b] = ["4c42000000000001", "4c42000000000002"];
    let failOn: string | undefined;
    const emit = (e: { type: string; at?: string }): number => {
      if (e.type === failOn) throw new Error("outbox append failed");
      return store.outbox.append(e);
    };
    const tables = new StoreLockTables(store, { emit }, new SlotIndex(store), t.clock, 20);
    let commits = 0;
    const unhook = store.beforeCommit(() => void commits++);
    const settled: string[] = [];
    const pa = Promise.resolve(tables.commitLockEvents(a, [ev("access.denied")], 3)).then(() => settled.push(a));
    const pb = Promise.resolve(tables.commitLockEvents(b, [ev("access.granted"), ev("door.opened")], 7)).then(() => settled.push(b));
    // Nothing is committed, so nothing may be acknowledged to a lock yet.
    await new Promise((r) => setTimeout(r, 0));
    expect(settled).toEqual([]);
    expect(commits).toBe(0);
    expect(store.locks.get(a)?.lastEventSeq).toBe(0);
    await Promise.all([pa, pb]);
    expect(commits).toBe(1);
    expect(settled.sort()).toEqual([a, b]);
    expect(store.locks.get(a)?.lastEventSeq).toBe(3);
    expect(store.locks.get(b)?.lastEventSeq).toBe(7);
    expect(store.outbox.pending(10).map((e) => e.event.type)).toEqual(["access.denied", "access.granted", "door.opened"]);

    // One page's append fails: the shared commit rolls back, every page's promise rejects.
    failOn = "door.closed";
    const qa = Promise.resolve(tables.commitLockEvents(a, [ev("access.denied")], 5));
    const qb = Promise.resolve(tables.commitLockEvents(b, [ev("door.closed")], 9));
    await expect(qa).rejects.toThrow("outbox append failed");
    await expect(qb).rejects.toThrow("outbox append failed");
    expect(store.locks.get(a)?.lastEventSeq).toBe(3);
    expect(store.locks.get(b)?.lastEventSeq).toBe(7);
    expect(store.outbox.pending(10)).toHaveLength(3);

    // A stop commits what waits at once; without a window each page commits before returning.
    failOn = undefined;
    const qc = Promise.resolve(tables.commitLockEvents(a, [ev("access.denied")], 6));
    tables.flushEventPages();
    await qc;
    expect(store.locks.get(a)?.lastEventSeq).toBe(6);
    const direct = new StoreLockTables(store, { emit }, new SlotIndex(store), t.clock);
    expect(direct.commitLockEvents(b, [ev("access.granted")], 10)).toBeUndefined();
    expect(store.locks.get(b)?.lastEventSeq).toBe(10);
    unhook();
  });

  it("confirmed puts are seen at once through the adapter and recorded in one batch", () => {
    const index = new SlotIndex(store);
    const tables = new StoreLockTables(store, { emit: () => 0 }, index, t.clock);
    const lockId = "4c42000000000001";
    const { credentialId, content } = desiredCode(lockId, "k-1", "482916", "1a0774b3");
    tables.markApplied(lockId, "doorCode", 0, content);
    expect(tables.slot(lockId, "doorCode", 0)?.inSync).toBe(true);
    expect(store.slots.get(lockId, "doorCode", 0)?.inSync).toBe(false); // not recorded yet
    t.clock.advance(APPLIED_FLUSH_MS); // the batch is due
    expect(store.slots.get(lockId, "doorCode", 0)?.inSync).toBe(true);
    expect(index.rows(credentialId).map((r) => r.slot)).toEqual([0]);
    // A deletion is recorded at once.
    tables.markApplied(lockId, "doorCode", 3, null);
    expect(store.slots.get(lockId, "doorCode", 3)?.appliedState).toBe("empty");
  });
  it("a confirmed write recorded after a table check keeps the instant the lock confirmed it, so the check covers it", () => {
    const tables = new StoreLockTables(store, { emit: () => 0 }, new SlotIndex(store), t.clock);
    const lockId = "4c42000000000001";
    const { content } = desiredCode(lockId, "k-1", "482916", "1a0774b3");
    t.clock.advance(10);
    const confirmedAt = t.clock.now();
    tables.markApplied(lockId, "doorCode", 0, content);
    expect(tables.slot(lockId, "doorCode", 0)?.updatedAt).toBe(confirmedAt);
    // The table's digest is asked and matches later, before the batch is recorded.
    t.clock.advance(300);
    const verifiedAt = t.clock.now();
    tables.tableVerified(lockId, "doorCode", verifiedAt);
    t.clock.advance(APPLIED_FLUSH_MS);
    const row = store.slots.get(lockId, "doorCode", 0)!;
    expect(row.inSync).toBe(true);
    expect(row.updatedAt).toBe(confirmedAt);
    expect(row.updatedAt).toBeLessThanOrEqual(tables.tablesVerifiedAt(lockId).get("doorCode")!);
  });
  describe("recordWith: a table check's confirmed writes and the events they decide in one commit", () => {
    const lockId = "4c42000000000001";
    function withPendingWrite(): { tables: StoreLockTables; index: SlotIndex; credentialId: number; content: Parameters<StoreLockTables["markApplied"]>[3] } {
      const index = new SlotIndex(store);
      const tables = new StoreLockTables(store, { emit: (e) => store.outbox.append(e) }, index, t.clock);
      const { credentialId, content } = desiredCode(lockId, "k-1", "482916", "1a0774b3");
      tables.markApplied(lockId, "doorCode", 0, content);
      tables.tableVerified(lockId, "doorCode", t.clock.now());
      return { tables, index, credentialId, content };
    }

    it("the events' commit records the pending writes and the verification; nothing is left for another commit", () => {
      const { tables, index, credentialId } = withPendingWrite();
      let commits = 0;
      const unhook = store.beforeCommit(() => void commits++);
      tables.recordWith(lockId, () => {
        // What the engine reads before the events are stored: the write, through the adapter.
        expect(tables.slot(lockId, "doorCode", 0)?.inSync).toBe(true);
        expect(store.slots.get(lockId, "doorCode", 0)?.inSync).toBe(false);
        store.transaction(() => store.outbox.append({ type: "credential.provisioned", lockId, keyId: "k-1", credential: "doorCode" }));
        // Committed with the event.
        expect(store.slots.get(lockId, "doorCode", 0)?.inSync).toBe(true);
      });
      unhook();
      expect(commits).toBe(1);
      expect(store.lockFacts.tablesVerifiedAt(lockId).has("doorCode")).toBe(true);
      expect(index.rows(credentialId).every((r) => r.inSync)).toBe(true);
      expect(store.outbox.pending(10).map((e) => e.event.type)).toEqual(["credential.provisioned"]);
    });

    it("another lock's pending writes are left to their own check or the batch", () => {
      const { tables } = withPendingWrite();
      const other = "4c42000000000002";
      const { content } = desiredCode(other, "k-2", "735102", "2b0774b3");
      tables.markApplied(other, "doorCode", 0, content);
      tables.recordWith(lockId, () => store.transaction(() => store.outbox.append({ type: "credential.provisioned", lockId, keyId: "k-1", credential: "doorCode" })));
      expect(store.slots.get(lockId, "doorCode", 0)?.inSync).toBe(true);
      expect(store.slots.get(other, "doorCode", 0)?.inSync).toBe(false);
      expect(tables.slot(other, "doorCode", 0)?.inSync).toBe(true);
      t.clock.advance(APPLIED_FLUSH_MS);
      expect(store.slots.get(other, "doorCode", 0)?.inSync).toBe(true);
    });

    it("with no event to store, the writes are recorded after it", () => {
      const { tables } = withPendingWrite();
      tables.recordWith(lockId, () => undefined);
      expect(store.slots.get(lockId, "doorCode", 0)?.inSync).toBe(true);
      expect(store.lockFacts.tablesVerifiedAt(lockId).has("doorCode")).toBe(true);
    });

    it("an events' commit that rolls back takes the writes back; they are recorded after it, once", () => {
      const { tables, index, credentialId } = withPendingWrite();
      tables.recordWith(lockId, () => {
        expect(() =>
          store.transaction(() => {
            store.outbox.append({ type: "credential.provisioned", lockId, keyId: "k-1", credential: "doorCode" });
            throw Object.assign(new Error("database or disk is full"), { code: "SQLITE_FULL" });
          }),
        ).toThrow("disk is full");
        expect(store.slots.get(lockId, "doorCode", 0)?.inSync).toBe(false);
        expect(index.rows(credentialId).some((r) => r.inSync)).toBe(false);
        expect(tables.slot(lockId, "doorCode", 0)?.inSync).toBe(true); // still pending, still seen
      });
      expect(store.slots.get(lockId, "doorCode", 0)?.inSync).toBe(true);
      expect(index.rows(credentialId).every((r) => r.inSync)).toBe(true);
      expect(store.outbox.pending(10)).toEqual([]);
    });
  });
});
