import fs from "node:fs";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { isLockBridgeError, type LockBridgeError } from "../../../src/shared/errors.js";
import { LOCKBRIDGE_APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION, openStore, type Migration, type Store } from "../../../src/store/index.js";
import { tempStoreFiles } from "../../helpers/temp-store-file.js";

/** Schema facts of a database file, read without the store. */
function schemaOf(file: string): { version: number; appId: number; objects: string[]; columns: (table: string) => string[] } {
  const db = new Database(file, { readonly: true });
  try {
    const objects = (db.prepare("SELECT type || ':' || name AS o FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' ORDER BY 1").all() as { o: string }[]).map(
      (r) => r.o,
    );
    const cols = new Map<string, string[]>();
    for (const o of objects.filter((x) => x.startsWith("table:"))) {
      const t = o.slice(6);
      cols.set(t, (db.pragma(`table_info(${t})`) as { name: string }[]).map((c) => c.name));
    }
    return {
      version: db.pragma("user_version", { simple: true }) as number,
      appId: db.pragma("application_id", { simple: true }) as number,
      objects,
      columns: (t) => cols.get(t) ?? [],
    };
  } finally {
    db.close();
  }
}

function catchErr(fn: () => unknown): LockBridgeError {
  try {
    fn();
  } catch (e) {
    if (isLockBridgeError(e)) return e;
    throw e;
  }
  throw new Error("expected a LockBridgeError");
}

/**
 * Writes, with plain SQL as that release's code would have, rows every schema version has,
 * including a failed slot (for v3's backfill). Runs against a file at version 1 or 2.
 */
function fillOldStore(file: string): void {
  const db = new Database(file);
  const now = 1_767_000_000_000;
  db.exec(`
    INSERT INTO doors (door_id, name, lock_id, kind, protect_configuration, updated_at) VALUES
      ('lobby', 'Lobby', 'L-lobby', 'common', 0, ${now}), ('room-101', 'Room 101', 'L-101', 'room', 1, ${now});
    INSERT INTO door_links (door_id, linked_door_id, position) VALUES ('room-101', 'lobby', 0);
    INSERT INTO keys (key_id, version, source, pms, holder, checked_in, door_code_request, keycard_request, smart_key_request, removed_at, updated_at) VALUES
      ('k-1', 3, 'manual', NULL, '{"name":"Ann"}', 1, '{"enabled":true,"assignment":"random"}', '{"enabled":false}', '{"enabled":false}', NULL, ${now}),
      ('k-2', 1, 'pms', '{"provider":"mews","reservationId":"R-2"}', NULL, 0, '{"enabled":true,"assignment":"random"}', '{"enabled":false}', '{"enabled":false}', NULL, ${now});
    INSERT INTO key_doors VALUES
      ('k-1', 'room-101', 0, '2026-12-01', '2026-12-04', '15:00', '10:00', 1, 1),
      ('k-1', 'lobby', 1, '2026-12-01', '2026-12-04', '15:00', '10:00', 1, 0);
    INSERT INTO inbox (command_id, cmd, response, received_at) VALUES ('cmd-1', 'key.upsert', '{"id":"cmd-1","ok":true}', ${now});
    INSERT INTO meta VALUES ('sessionId', '2');
    INSERT INTO outbox (event, created_at, sent_at) VALUES
      ('{"type":"access.granted","i":0}', ${now}, ${now}), ('{"type":"access.granted","i":1}', ${now}, NULL),
      ('{"type":"access.granted","i":2}', ${now}, NULL), ('{"type":"access.granted","i":3}', ${now}, NULL);
    INSERT INTO locks (lock_id, profile_id, link, link_key, state, updated_at) VALUES
      ('L-101', 'acme-rf', '{"type":"serial","path":"/dev/ttyUSB0","address":3}', zeroblob(16), 'commissioned', ${now});
    INSERT INTO credentials (credential_id, key_id, kind, value, assignment, created_at) VALUES (1, 'k-1', 'doorCode', '482916', 'random', ${now});
    INSERT INTO lock_slots (lock_id, kind, slot, desired_credential_id, desired_valid_from, desired_valid_until, desired_flags, desired_digest,
      applied_state, last_error, attempts, updated_at) VALUES ('L-101', 'doorCode', 0, 1, 1, 2, 0, X'61626364', 'empty', 'lock_offline', 1, ${now});
    INSERT INTO lock_slots (lock_id, kind, slot, applied_state, updated_at) VALUES ('L-101', 'doorCode', 2, 'unknown', ${now});
  `);
  // The hub counters live in locks before v11, in lock_link_counters (one row per lock, made by a trigger) after.
  const countersInLocks = (db.prepare("SELECT count(*) AS n FROM pragma_table_info('locks') WHERE name = 'hub_counter_reserved'").get() as { n: number }).n > 0;
  db.prepare(`UPDATE ${countersInLocks ? "locks" : "lock_link_counters"} SET hub_counter_reserved = 64 WHERE lock_id = 'L-101'`).run();
  db.close();
}

function expectDataKept(store: Store): void {
  expect(store.doors.get("room-101")?.linkedDoorIds).toEqual(["lobby"]);
  expect(store.keys.get("k-1")?.version).toBe(3);
  expect(store.keys.get("k-1")?.doors).toHaveLength(2);
  expect(store.keys.ids()).toEqual(["k-1", "k-2"]);
  expect(store.inbox.get("cmd-1")?.response).toEqual({ id: "cmd-1", ok: true });
  expect(store.meta.nextSessionId()).toBe(3);
  expect(store.outbox.pending(10).map((e) => e.seq)).toEqual([2, 3, 4]);
  expect(store.outbox.append({ type: "lock.online" })).toBe(5);
  expect(store.locks.get("L-101")?.linkKey?.equals(Buffer.alloc(16))).toBe(true);
  expect(store.keys.get("k-2")?.pms).toEqual({ provider: "mews", reservationId: "R-2" });
  expect(store.counters.reserveHubCounters("L-101", 1)).toEqual({ first: 65, last: 65 });
  expect(store.credentials.currentOf("k-1", "doorCode")?.value).toBe("482916");
  expect(store.slots.get("L-101", "doorCode", 0)?.lastError).toBe("lock_offline");
  // v14: the rows of an older store are counted (slot 1 is the gap, then past the last row).
  const more = ["135792", "246813"].map((value, i) => store.credentials.assign({ keyId: `k-slot-${i}`, kind: "doorCode", value, assignment: "random" }).credentialId);
  const digest = Buffer.from("abcd");
  expect(more.map((credentialId) => store.slots.assign("L-101", "doorCode", { credentialId, validFrom: 1, validUntil: 2, flags: 0, secretDigest: digest }, 10))).toEqual([1, 3]);
  // v7: a lock commissioned before PAIR_KX has no setup key on file; one can be stored.
  expect(store.linkState.setupKey("L-101")).toBeNull();
  store.linkState.saveSetupKey("L-101", Buffer.alloc(16, 7));
  expect(store.linkState.setupKey("L-101")?.equals(Buffer.alloc(16, 7))).toBe(true);
}

describe("store migrations", () => {
  const fileIn = tempStoreFiles();

  it("ships contiguous migrations, at least two", () => {
    expect(MIGRATIONS.length).toBeGreaterThanOrEqual(2);
    expect(MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
    expect(SCHEMA_VERSION).toBe(MIGRATIONS.length);
  });

  it("creates the whole schema from empty, marked as a LockBridge file, in WAL mode", () => {
    const file = fileIn();
    const store = openStore(file);
    expect(store.schemaVersion()).toBe(SCHEMA_VERSION);
    store.close();
    const s = schemaOf(file);
    expect(s.version).toBe(SCHEMA_VERSION);
    expect(s.appId).toBe(LOCKBRIDGE_APPLICATION_ID);
    for (const t of ["meta", "site", "locks", "doors", "door_links", "keys", "key_doors", "keycards", "credentials", "lock_slots", "inbox", "outbox", "snapshot_pages"]) {
      expect(s.objects).toContain(`table:${t}`);
    }
    expect(s.columns("lock_slots")).toContain("next_attempt_at");
    const db = new Database(file, { readonly: true });
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    db.close();
  });

  it("an empty (0-byte) file is initialised like a missing one", () => {
    const file = fileIn();
    fs.writeFileSync(file, "");
    const store = openStore(file);
    expect(store.schemaVersion()).toBe(SCHEMA_VERSION);
    store.close();
  });

  for (let from = 1; from < SCHEMA_VERSION; from++) {
    it(`migrates a version ${from} store forward to ${SCHEMA_VERSION}, keeping its data`, () => {
      const file = fileIn();
      const old = openStore(file, { migrations: MIGRATIONS.slice(0, from) });
      expect(old.schemaVersion()).toBe(from);
      old.close();
      fillOldStore(file);
      expect(schemaOf(file).version).toBe(from);
      if (from < 2) expect(schemaOf(file).objects).not.toContain("table:snapshot_pages");

      const store = openStore(file);
      try {
        expect(store.schemaVersion()).toBe(SCHEMA_VERSION);
        expectDataKept(store);
        if (from < 3) {
          // v3 backfill: a slot that had failed before v3 is due for a retry right away.
          const slot = store.slots.get("L-101", "doorCode", 0);
          expect(slot?.nextAttemptAt).toBe(1_767_000_000_000);
          expect(store.slots.due(1_767_000_000_000).map((s) => s.slot)).toEqual([0]);
        }
        // v4: a lock from an older release has no pending link key.
        expect(store.linkState.linkKeys("L-101").pending).toBeNull();
        expect(store.snapshots.putPage("s1", 1, 1, {}).complete).toBe(true);
        expect(store.integrityCheck()).toEqual(["ok"]);
      } finally {
        store.close();
      }
    });
  }

  it("a migration that fails half-way leaves the previous version intact and usable", () => {
    const file = fileIn();
    openStore(file, { migrations: MIGRATIONS.slice(0, 2) }).close();
    fillOldStore(file);
    const before = schemaOf(file);

    const broken: Migration = {
      version: 3,
      name: "broken on purpose",
      up(db) {
        db.exec("ALTER TABLE lock_slots ADD COLUMN next_attempt_at INTEGER; CREATE TABLE half_done (x INTEGER); DELETE FROM keys;");
        db.exec("INSERT INTO no_such_table VALUES (1)");
      },
    };
    const err = catchErr(() => openStore(file, { migrations: [...MIGRATIONS.slice(0, 2), broken] }));
    expect(err.code).toBe("store_migration_failed");
    expect(err.message).toMatch(/version 3 \(broken on purpose\).*no such table.*stays at version 2/);

    const after = schemaOf(file);
    expect(after.version).toBe(2);
    expect(after.objects).toEqual(before.objects);
    expect(after.columns("lock_slots")).not.toContain("next_attempt_at");
    // The old schema is usable by the old release, data untouched...
    const old = openStore(file, { migrations: MIGRATIONS.slice(0, 2) });
    expect(old.keys.ids()).toEqual(["k-1", "k-2"]);
    old.close();
    // ...and the fixed release migrates it.
    const fixed = openStore(file);
    expect(fixed.schemaVersion()).toBe(SCHEMA_VERSION);
    expectDataKept(fixed);
    fixed.close();
  });

  it("refuses a store written by a newer release, without touching it", () => {
    const file = fileIn();
    openStore(file).close();
    const db = new Database(file);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    const bytes = fs.readFileSync(file);
    const err = catchErr(() => openStore(file));
    expect(err.code).toBe("store_migration_failed");
    expect(err.message).toMatch(/newer than this LockBridge knows/);
    expect(fs.readFileSync(file).equals(bytes)).toBe(true);
  });
});
