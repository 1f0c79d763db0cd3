/**
 * Store v11 and v12: the sealing counters (v11) and the acknowledged lock event seq (v12) leave
 * the wide `locks` rows for `lock_link_counters`. Built from a v10 store file written with plain
 * SQL as that release wrote it.
 */
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { MIGRATIONS, SCHEMA_VERSION, openStore } from "../../../src/store/index.js";
import { tempStoreFiles } from "../../helpers/temp-store-file.js";

const NOW = 1_767_000_000_000;
const LINK = '{"type":"tcp","host":"10.0.0.5","port":4001,"address":1}';

/** A v10 store with two locks whose counters have moved, and one fresh one. */
function v10StoreWithCounters(file: string): void {
  openStore(file, { migrations: MIGRATIONS.slice(0, 10) }).close();
  const db = new Database(file);
  const lock = db.prepare(
    `INSERT INTO locks (lock_id, profile_id, link, link_key, state, hub_counter_reserved, lock_counter_accepted, last_event_seq, updated_at)
     VALUES (?, 'rs485-mortise', '${LINK}', zeroblob(16), 'commissioned', ?, ?, ?, ${NOW})`,
  );
  lock.run("4c42000000000101", 2048, 777, 12);
  lock.run("4c42000000000102", 1024, 5, 0);
  lock.run("4c42000000000103", 0, 0, 0);
  db.close();
}

describe("store v11/v12: lock link counters and event seq in a table of their own", () => {
  const fileIn = tempStoreFiles();

  it("carries every lock's counters over from a v10 store and drops the old columns", () => {
    const file = fileIn();
    v10StoreWithCounters(file);
    const store = openStore(file);
    try {
      expect(store.schemaVersion()).toBe(SCHEMA_VERSION);
      expect(store.counters.hubCounterHighWater("4c42000000000101")).toBe(2048);
      expect(store.linkState.lastLockCounter("4c42000000000101")).toBe(777);
      expect(store.counters.hubCounterHighWater("4c42000000000102")).toBe(1024);
      expect(store.linkState.lastLockCounter("4c42000000000102")).toBe(5);
      expect(store.counters.hubCounterHighWater("4c42000000000103")).toBe(0);
      expect(store.locks.get("4c42000000000101")?.lastEventSeq).toBe(12);
      // The hub send counter continues above what v10 had reserved: never reused.
      expect(store.linkState.reserveHubCounters("4c42000000000101", 64)).toBe(2049);
      expect(store.integrityCheck()).toEqual(["ok"]);
    } finally {
      store.close();
    }
    const db = new Database(file, { readonly: true });
    try {
      const columns = (db.prepare("SELECT name FROM pragma_table_info('locks')").all() as { name: string }[]).map((c) => c.name);
      expect(columns).not.toContain("hub_counter_reserved");
      expect(columns).not.toContain("lock_counter_accepted");
      expect(columns).not.toContain("last_event_seq");
      expect(db.prepare("SELECT count(*) AS n FROM lock_link_counters").get()).toEqual({ n: 3 });
    } finally {
      db.close();
    }
  });

  it("gives each new lock its counters row, resets the lock counter with a new key, drops the row with the lock", () => {
    const file = fileIn();
    v10StoreWithCounters(file);
    const store = openStore(file);
    try {
      const LOCK = "4c420000000001ff";
      expect(store.counters.hubCounterHighWater(LOCK)).toBeUndefined();
      expect(store.locks.upsert({ lockId: LOCK, profileId: "rs485-mortise", link: JSON.parse(LINK) })).toBe(true);
      expect(store.counters.hubCounterHighWater(LOCK)).toBe(0);
      expect(store.linkState.reserveHubCounters(LOCK, 16)).toBe(1);
      store.linkState.saveLastLockCounter(LOCK, 40);
      // An upsert of a known lock keeps its counters.
      expect(store.locks.upsert({ lockId: LOCK, profileId: "rs485-mortise", link: JSON.parse(LINK) })).toBe(false);
      expect(store.linkState.lastLockCounter(LOCK)).toBe(40);
      expect(store.counters.hubCounterHighWater(LOCK)).toBe(16);

      expect(store.locks.setLinkKey(LOCK, Buffer.alloc(16, 7))).toBe(true);
      expect(store.linkState.lastLockCounter(LOCK)).toBe(0);
      expect(store.counters.hubCounterHighWater(LOCK)).toBe(16);

      store.linkState.saveLastLockCounter(LOCK, 9);
      store.linkState.savePendingLinkKey(LOCK, Buffer.alloc(16, 8));
      store.linkState.confirmPendingLinkKey(LOCK);
      expect(store.linkState.lastLockCounter(LOCK)).toBe(0);
      expect(store.counters.hubCounterHighWater(LOCK)).toBe(16);

      // The other locks' counters are untouched by this one's key changes.
      expect(store.linkState.lastLockCounter("4c42000000000101")).toBe(777);

      // The acknowledged event seq: in the counters row, never backwards, reset explicitly.
      expect(store.locks.get(LOCK)?.lastEventSeq).toBe(0);
      expect(store.locks.setLastEventSeq(LOCK, 30)).toBe(true);
      expect(store.locks.setLastEventSeq(LOCK, 20)).toBe(true);
      expect(store.locks.get(LOCK)?.lastEventSeq).toBe(30);
      expect(store.locks.list().find((l) => l.lockId === LOCK)?.lastEventSeq).toBe(30);
      expect(store.locks.resetLastEventSeq(LOCK, 0)).toBe(true);
      expect(store.locks.get(LOCK)?.lastEventSeq).toBe(0);
      expect(store.locks.setLastEventSeq("4c42000000000999", 1)).toBe(false);

      expect(store.locks.remove(LOCK)).toBe(true);
      expect(store.counters.hubCounterHighWater(LOCK)).toBeUndefined();
      expect(() => store.linkState.reserveHubCounters(LOCK, 1)).toThrow(/no lock/);
    } finally {
      store.close();
    }
  });
});
