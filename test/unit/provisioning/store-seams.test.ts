/** The engine's seams over the real store: group-committed lock counters, batched confirmed writes. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { StoreLinkState } from "../../../src/provisioning/reconcile/link-state.js";
import { SlotIndex } from "../../../src/provisioning/desired/slot-index.js";
import { APPLIED_FLUSH_MS, StoreLockTables } from "../../../src/provisioning/reconcile/store-adapter.js";
import { openStore, type Store } from "../../../src/store/index.js";
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

describe("StoreLockTables", () => {
  it("confirmed puts are seen at once through the adapter and recorded in one batch", () => {
    const index = new SlotIndex(store);
    const tables = new StoreLockTables(store, { emit: () => 0 }, index, t.clock);
    const lockId = "4c42000000000001";
    store.credentials.assign({ keyId: "k-1", kind: "doorCode", value: "482916" });
    const cred = store.credentials.currentOf("k-1", "doorCode")!;
    const content = { credentialId: cred.credentialId, validFrom: 1, validUntil: 2, flags: 0, secretDigest: Buffer.from("1a0774b3", "hex") };
    store.slots.assign(lockId, "doorCode", content, 32);
    tables.markApplied(lockId, "doorCode", 0, content);
    expect(tables.slot(lockId, "doorCode", 0)?.inSync).toBe(true);
    expect(store.slots.get(lockId, "doorCode", 0)?.inSync).toBe(false); // not recorded yet
    t.clock.advance(APPLIED_FLUSH_MS); // the batch is due
    expect(store.slots.get(lockId, "doorCode", 0)?.inSync).toBe(true);
    expect(index.rows(cred.credentialId).map((r) => r.slot)).toEqual([0]);
    // A deletion is recorded at once.
    tables.markApplied(lockId, "doorCode", 3, null);
    expect(store.slots.get(lockId, "doorCode", 3)?.appliedState).toBe("empty");
  });
});
