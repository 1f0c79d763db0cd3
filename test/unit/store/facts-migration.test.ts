/**
 * Store v8: the facts v5–v7 kept as JSON in `meta` move to tables with foreign keys. Built
 * from a v5 store file written with plain SQL as that release wrote it.
 */
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { MIGRATIONS, SCHEMA_VERSION, openStore } from "../../../src/store/index.js";
import { tempStoreFiles } from "../../helpers/temp-store-file.js";

const NOW = 1_767_000_000_000;
const IDENT = {
  protocolVersion: 1,
  lockId: "4c42000000000101",
  model: "RS-485 Mortise",
  firmware: "2.4.1",
  capabilities: 15,
  codeSlots: 200,
  cardSlots: 100,
  mobileKeySlots: 20,
  codeMinLen: 4,
  codeMaxLen: 8,
};

/** A v5 store with two keys, two locks and every fact family in `meta`, plus orphans. */
function v5StoreWithFacts(file: string): void {
  openStore(file, { migrations: MIGRATIONS.slice(0, 5) }).close();
  const db = new Database(file);
  const history = [
    { atMs: NOW - 2000, source: "pms", doorId: "room-101", fields: ["arrivalTime"], applied: false },
    { atMs: NOW - 1000, source: "manual", doorId: "room-101", fields: ["arrivalTime", "departureTime"], applied: true },
  ];
  const alert = { reason: "replay", firstAt: "2026-12-28T10:00:00.000Z", lastAt: "2026-12-28T10:05:00.250Z", count: 3, emittedAtMs: NOW - 60_000, unreported: 2 };
  db.prepare(
    `INSERT INTO keys (key_id, version, source, pms, holder, checked_in, door_code_request, keycard_request, smart_key_request, removed_at, updated_at)
     VALUES (?, 1, 'pms', NULL, NULL, 1, '{"enabled":true,"assignment":"random"}', '{"enabled":false}', '{"enabled":false}', NULL, ${NOW})`,
  ).run("k-1");
  db.prepare(
    `INSERT INTO keys (key_id, version, source, pms, holder, checked_in, door_code_request, keycard_request, smart_key_request, removed_at, updated_at)
     VALUES (?, 1, 'manual', NULL, NULL, 1, '{"enabled":true,"assignment":"strict","code":"1234"}', '{"enabled":false}', '{"enabled":false}', NULL, ${NOW})`,
  ).run("k-2");
  const lock = db.prepare(
    `INSERT INTO locks (lock_id, profile_id, link, link_key, state, ident, updated_at) VALUES (?, 'rs485-mortise', '{"type":"tcp","host":"10.0.0.5","port":4001,"address":1}', zeroblob(16), ?, ?, ${NOW})`,
  );
  lock.run("4c42000000000101", "commissioned", JSON.stringify(IDENT));
  lock.run("4c42000000000102", "replaced", null);
  const meta = db.prepare("INSERT INTO meta (key, value) VALUES (?, ?)");
  meta.run("sessionId", "7");
  meta.run("key.lifecycle:k-1", JSON.stringify({ removed: false, checkedOut: true }));
  meta.run("key.codeUnavailable:k-2", "in_use");
  meta.run("key.settingsHistory:k-1", JSON.stringify(history));
  meta.run("lock.batteryLowReported:4c42000000000101", "17");
  meta.run("lock.pairingLost:4c42000000000101", "2026-12-28T09:00:00.000Z");
  meta.run("lock.replacedBy:4c42000000000102", "4c42000000000999");
  meta.run("lock.securityAlert:4c42000000000101:replay", JSON.stringify(alert));
  // Left behind by keys and locks removed before v8 (the bug v8 fixes): dropped, not migrated.
  meta.run("key.lifecycle:k-gone", JSON.stringify({ removed: true, checkedOut: true }));
  meta.run("key.settingsHistory:k-gone", JSON.stringify(history));
  meta.run("lock.securityAlert:4c420000000000ff:replay", JSON.stringify(alert));
  db.close();
}

describe("store v8: facts as tables", () => {
  const fileIn = tempStoreFiles();

  it("moves every fact out of meta for an existing v5 store, dropping those of keys and locks it no longer has", () => {
    const file = fileIn();
    v5StoreWithFacts(file);
    const store = openStore(file);
    try {
      expect(store.schemaVersion()).toBe(SCHEMA_VERSION);
      expect(store.keyFacts.checkedOut("k-1")).toBe(true);
      expect(store.keyFacts.checkedOut("k-2")).toBe(false);
      expect(store.keyFacts.codeUnavailable("k-2")).toBe("in_use");
      expect(store.keyFacts.codeUnavailable("k-1")).toBeNull();
      expect(store.keyFacts.settingsChanges("k-1")).toEqual([
        { atMs: NOW - 2000, source: "pms", doorId: "room-101", fields: ["arrivalTime"], applied: false },
        { atMs: NOW - 1000, source: "manual", doorId: "room-101", fields: ["arrivalTime", "departureTime"], applied: true },
      ]);
      expect(store.lockFacts.batteryLowReported("4c42000000000101")).toBe(17);
      expect(store.lockFacts.pairingLostAt("4c42000000000101")).toBe(Date.parse("2026-12-28T09:00:00.000Z"));
      expect(store.lockFacts.replacedBy("4c42000000000102")).toBe("4c42000000000999");
      expect(store.lockFacts.replacedBy("4c42000000000101")).toBeNull();
      expect(store.lockFacts.securityAlert("4c42000000000101", "replay")).toEqual({
        reason: "replay",
        firstAtMs: Date.parse("2026-12-28T10:00:00.000Z"),
        lastAtMs: Date.parse("2026-12-28T10:05:00.250Z"),
        count: 3,
        emittedAtMs: NOW - 60_000,
        unreported: 2,
      });
      // IDENT comes back typed, from columns.
      expect(store.locks.get("4c42000000000101")?.ident).toEqual(IDENT);
      expect(store.locks.get("4c42000000000102")?.ident).toBeNull();
      expect(store.meta.currentSessionId()).toBe(7);
      expect(store.integrityCheck()).toEqual(["ok"]);
    } finally {
      store.close();
    }
    const db = new Database(file, { readonly: true });
    const left = db.prepare("SELECT key FROM meta ORDER BY key").all() as { key: string }[];
    const columns = (db.pragma("table_info(locks)") as { name: string }[]).map((c) => c.name);
    const orphans = db.prepare("SELECT count(*) AS n FROM key_settings_changes WHERE key_id = 'k-gone'").get() as { n: number };
    db.close();
    expect(left.map((r) => r.key)).toEqual(["sessionId"]);
    expect(columns).not.toContain("ident");
    expect(orphans.n).toBe(0);
  });

  it("a key or lock deleted from the store takes its facts with it", () => {
    const file = fileIn();
    v5StoreWithFacts(file);
    const store = openStore(file);
    try {
      expect(store.keys.purge("k-1")).toBe(true);
      expect(store.locks.remove("4c42000000000101")).toBe(true);
      const db = new Database(file, { readonly: true });
      const n = (sql: string): number => (db.prepare(sql).get() as { n: number }).n;
      expect(n("SELECT count(*) AS n FROM key_facts WHERE key_id = 'k-1'")).toBe(0);
      expect(n("SELECT count(*) AS n FROM key_settings_changes WHERE key_id = 'k-1'")).toBe(0);
      expect(n("SELECT count(*) AS n FROM lock_security_alerts WHERE lock_id = '4c42000000000101'")).toBe(0);
      expect(store.keyFacts.codeUnavailable("k-2")).toBe("in_use");
      db.close();
    } finally {
      store.close();
    }
  });

  it("keeps the newest 20 settings changes of a key, and none for a key it does not have", () => {
    const file = fileIn();
    v5StoreWithFacts(file);
    const store = openStore(file);
    try {
      const change = (i: number) => ({ atMs: NOW + i, source: "pms" as const, doorId: "room-101", fields: ["departureTime" as const], applied: true });
      store.keyFacts.addSettingsChanges("k-2", Array.from({ length: 25 }, (_, i) => change(i)));
      expect(store.keyFacts.settingsChanges("k-2").map((c) => c.atMs)).toEqual(Array.from({ length: 20 }, (_, i) => NOW + 5 + i));
      store.keyFacts.addSettingsChanges("k-unknown", [change(0)]);
      store.keyFacts.setCheckedOut("k-unknown", true);
      expect(store.keyFacts.settingsChanges("k-unknown")).toEqual([]);
      expect(store.keyFacts.checkedOut("k-unknown")).toBe(false);
    } finally {
      store.close();
    }
  });
});
