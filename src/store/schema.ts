/**
 * The store's schema history. Each migration runs in its own transaction together with
 * the bump of PRAGMA user_version, so a migration that fails (or a process killed in the
 * middle of one) leaves the database exactly at the previous version, still usable.
 * Never edit a shipped migration: append a new one.
 *
 * Over 400 lines: the whole history in one file, read top to bottom in the order a store
 * file goes through it; splitting it would only scatter that order.
 */
import type { Db } from "./db.js";

/** PRAGMA application_id of a LockBridge store: "LKBR". Tells our file from any other SQLite file. */
export const LOCKBRIDGE_APPLICATION_ID = 0x4c4b4252;

export interface Migration {
  /** The schema version this migration produces (1, 2, 3...; contiguous). */
  readonly version: number;
  readonly name: string;
  /** Runs inside the migration's transaction; throw to abort it. */
  up(db: Db): void;
}

/** v1: the hub's whole state — site, locks, doors, keys, credentials, slots, keycards, inbox, outbox. */
const v1BaseSchema: Migration = {
  version: 1,
  name: "base schema",
  up(db) {
    db.pragma(`application_id = ${LOCKBRIDGE_APPLICATION_ID}`);
    db.exec(`
      -- Hub-wide counters and facts: sessionId, last bootId, flags.
      CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) STRICT, WITHOUT ROWID;

      -- The site the hub serves: exactly one row once site.configure arrived.
      CREATE TABLE site (
        id                     INTEGER PRIMARY KEY CHECK (id = 1),
        site_id                TEXT NOT NULL,
        timezone               TEXT NOT NULL,
        door_code_enabled      INTEGER NOT NULL,
        keycard_enabled        INTEGER NOT NULL,
        smart_key_enabled      INTEGER NOT NULL,
        door_code_length       INTEGER NOT NULL CHECK (door_code_length BETWEEN 4 AND 12),
        door_held_open_seconds INTEGER NOT NULL,
        at_risk_minutes        INTEGER NOT NULL,
        updated_at             INTEGER NOT NULL
      ) STRICT;

      -- Commissioned locks: how to reach them, the link key, the sealing counters, last known health.
      CREATE TABLE locks (
        lock_id               TEXT PRIMARY KEY,
        profile_id            TEXT NOT NULL,
        link                  TEXT NOT NULL,                 -- JSON LockLink
        link_key              BLOB CHECK (link_key IS NULL OR length(link_key) = 16),
        state                 TEXT NOT NULL CHECK (state IN ('commissioning', 'commissioned', 'replaced')),
        hub_counter_reserved  INTEGER NOT NULL DEFAULT 0,    -- every hub send counter <= this may have been used
        lock_counter_accepted INTEGER NOT NULL DEFAULT 0,    -- last counter accepted from the lock
        ident                 TEXT,                          -- JSON of the last IDENT
        online                INTEGER NOT NULL DEFAULT 0,
        last_seen             INTEGER,
        battery               INTEGER,
        door_open             INTEGER,
        clock_drift_s         INTEGER,
        last_event_seq        INTEGER NOT NULL DEFAULT 0,    -- highest lock event seq acknowledged to the lock
        commissioned_at       INTEGER,
        updated_at            INTEGER NOT NULL
      ) STRICT;

      -- Doors as the cloud describes them. lock_id has no foreign key: a door may name a lock
      -- that is not commissioned yet (its keys are then pending with not_commissioned).
      CREATE TABLE doors (
        door_id               TEXT PRIMARY KEY,
        name                  TEXT NOT NULL,
        lock_id               TEXT,
        kind                  TEXT NOT NULL CHECK (kind IN ('room', 'common')),
        protect_configuration INTEGER NOT NULL DEFAULT 0,
        updated_at            INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX doors_by_lock ON doors (lock_id);

      -- A room's linked common doors, as the cloud sent them (a link may name a door not known yet).
      CREATE TABLE door_links (
        door_id        TEXT NOT NULL REFERENCES doors (door_id) ON DELETE CASCADE,
        linked_door_id TEXT NOT NULL,
        position       INTEGER NOT NULL,
        PRIMARY KEY (door_id, linked_door_id)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX door_links_by_linked ON door_links (linked_door_id);

      -- Keys (desired state from the cloud). A removed key stays as a tombstone (removed_at)
      -- while its credentials are revoked, so that a late, older upsert is still answered stale.
      CREATE TABLE keys (
        key_id            TEXT PRIMARY KEY,
        version           INTEGER NOT NULL,
        source            TEXT NOT NULL CHECK (source IN ('manual', 'pms')),
        pms               TEXT,             -- JSON {provider, reservationId}
        holder            TEXT,             -- JSON {name}
        checked_in        INTEGER NOT NULL,
        door_code_request TEXT NOT NULL,    -- JSON DoorCodeRequest
        keycard_request   TEXT NOT NULL,    -- JSON KeycardRequest
        smart_key_request TEXT NOT NULL,    -- JSON SmartKeyRequest
        removed_at        INTEGER,
        updated_at        INTEGER NOT NULL
      ) STRICT;

      -- A key's per-door access settings. door_id is checked by the command layer (unknown_door).
      CREATE TABLE key_doors (
        key_id                    TEXT NOT NULL REFERENCES keys (key_id) ON DELETE CASCADE,
        door_id                   TEXT NOT NULL,
        position                  INTEGER NOT NULL,
        access_from               TEXT NOT NULL,
        access_to                 TEXT NOT NULL,
        arrival_time              TEXT NOT NULL,
        departure_time            TEXT NOT NULL,
        allow_provisioning        INTEGER NOT NULL,
        allow_linked_doors_access INTEGER NOT NULL,
        PRIMARY KEY (key_id, door_id)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX key_doors_by_door ON key_doors (door_id);

      -- Keycard inventory. A card serves at most one key at a time.
      CREATE TABLE keycards (
        card_id         TEXT PRIMARY KEY,
        uid             TEXT NOT NULL UNIQUE,
        label           TEXT NOT NULL,
        assigned_key_id TEXT UNIQUE,
        updated_at      INTEGER NOT NULL
      ) STRICT;

      -- What the hub decided per key: the assigned door code, the keycard, the mobile key.
      -- Revoked rows stay (revoked_at) for the code cooling-off and while locks still hold them;
      -- hence no foreign key to keys.
      CREATE TABLE credentials (
        credential_id INTEGER PRIMARY KEY,
        key_id        TEXT NOT NULL,
        kind          TEXT NOT NULL CHECK (kind IN ('doorCode', 'keycard', 'smartKey')),
        value         TEXT NOT NULL,        -- door code digits | cardId | base64 public key
        assignment    TEXT CHECK (assignment IS NULL OR assignment IN ('random', 'preferred', 'strict')),
        created_at    INTEGER NOT NULL,
        revoked_at    INTEGER
      ) STRICT;
      CREATE UNIQUE INDEX credentials_current ON credentials (key_id, kind) WHERE revoked_at IS NULL;
      CREATE UNIQUE INDEX credentials_current_card ON credentials (value) WHERE kind = 'keycard' AND revoked_at IS NULL;
      CREATE INDEX credentials_by_value ON credentials (kind, value);

      -- Per lock, per kind, per slot: what should be there (desired_*) and what the lock was
      -- last seen or told to hold (applied_*). A credential keeps its slot (stable allocation).
      CREATE TABLE lock_slots (
        lock_id               TEXT NOT NULL REFERENCES locks (lock_id) ON DELETE CASCADE,
        kind                  TEXT NOT NULL CHECK (kind IN ('doorCode', 'keycard', 'smartKey')),
        slot                  INTEGER NOT NULL CHECK (slot BETWEEN 0 AND 65535),
        desired_credential_id INTEGER REFERENCES credentials (credential_id),
        desired_valid_from    INTEGER,
        desired_valid_until   INTEGER,
        desired_flags         INTEGER,
        desired_digest        BLOB,
        applied_state         TEXT NOT NULL DEFAULT 'unknown' CHECK (applied_state IN ('unknown', 'empty', 'held')),
        applied_credential_id INTEGER REFERENCES credentials (credential_id),
        applied_valid_from    INTEGER,
        applied_valid_until   INTEGER,
        applied_flags         INTEGER,
        applied_digest        BLOB,
        last_error            TEXT,
        attempts              INTEGER NOT NULL DEFAULT 0,
        updated_at            INTEGER NOT NULL,
        PRIMARY KEY (lock_id, kind, slot)
      ) STRICT, WITHOUT ROWID;
      CREATE UNIQUE INDEX lock_slots_desired ON lock_slots (lock_id, kind, desired_credential_id)
        WHERE desired_credential_id IS NOT NULL;
      CREATE INDEX lock_slots_by_applied ON lock_slots (applied_credential_id) WHERE applied_credential_id IS NOT NULL;

      -- Commands seen (dedup by id for 7 days) with the response to send again.
      CREATE TABLE inbox (
        command_id  TEXT PRIMARY KEY,
        cmd         TEXT NOT NULL,
        response    TEXT NOT NULL,
        received_at INTEGER NOT NULL
      ) STRICT;

      -- Events for the cloud. AUTOINCREMENT: a seq is never handed out twice, even after the
      -- rows holding the highest seqs were deleted.
      CREATE TABLE outbox (
        seq        INTEGER PRIMARY KEY AUTOINCREMENT,
        event      TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        sent_at    INTEGER
      ) STRICT;
    `);
  },
};

/** v2: paged sync.snapshot, and indexes for the outbox sender and the inbox purge. */
const v2SnapshotPages: Migration = {
  version: 2,
  name: "snapshot pages, outbox and inbox indexes",
  up(db) {
    db.exec(`
      -- Pages of an unfinished sync.snapshot (dropped after 10 minutes or when another starts).
      CREATE TABLE snapshot_pages (
        snapshot_id TEXT NOT NULL,
        page        INTEGER NOT NULL CHECK (page >= 1),
        pages       INTEGER NOT NULL CHECK (pages >= 1),
        payload     TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        PRIMARY KEY (snapshot_id, page)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX outbox_pending ON outbox (seq) WHERE sent_at IS NULL;
      CREATE INDEX inbox_by_received_at ON inbox (received_at);
    `);
  },
};

/** v3: retry scheduling per slot, so a restart does not hammer a failing lock (backoff survives). */
const v3SlotRetry: Migration = {
  version: 3,
  name: "slot retry schedule",
  up(db) {
    db.exec(`
      ALTER TABLE lock_slots ADD COLUMN next_attempt_at INTEGER;
      -- Slots that failed before v3 are due for a retry right away.
      UPDATE lock_slots SET next_attempt_at = updated_at WHERE last_error IS NOT NULL;
      CREATE INDEX lock_slots_due ON lock_slots (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
    `);
  },
};

/**
 * v4: a link key stored before PAIR is sent and not yet confirmed, so that a hub that dies
 * between sending PAIR and hearing the ACK can still reach a lock that took the new key.
 */
const v4PendingLinkKey: Migration = {
  version: 4,
  name: "pending link key",
  up(db) {
    db.exec(`
      ALTER TABLE locks ADD COLUMN pending_link_key BLOB CHECK (pending_link_key IS NULL OR length(pending_link_key) = 16);
    `);
  },
};

/** v5: slots no credential wants, by lock and kind, so finding a free slot does not walk the table. */
const v5UnwantedSlots: Migration = {
  version: 5,
  name: "index of unwanted slots",
  up(db) {
    db.exec(`CREATE INDEX lock_slots_unwanted ON lock_slots (lock_id, kind, slot) WHERE desired_credential_id IS NULL;`);
  },
};

/**
 * v6: durable command responses (mqtt-api.md v1.1 §3): a stored response is marked unsent
 * until the broker acknowledges its publish, and unsent ones go again after a reconnect or a
 * restart. Responses stored before v6 were published by the hub that stored them: sent.
 */
const v6UnsentResponses: Migration = {
  version: 6,
  name: "unsent command responses",
  up(db) {
    db.exec(`
      ALTER TABLE inbox ADD COLUMN response_unsent INTEGER NOT NULL DEFAULT 0 CHECK (response_unsent IN (0, 1));
      CREATE INDEX inbox_unsent ON inbox (received_at) WHERE response_unsent = 1;
    `);
  },
};

/**
 * v7: the lock's setup key (LLP v1.1 §8), from lock.commission's `setupKey`: the hub re-pairs
 * a PAIR_KX lock that lost its key with it. A secret like the link key beside it.
 */
const v7SetupKey: Migration = {
  version: 7,
  name: "lock setup keys",
  up(db) {
    db.exec(`ALTER TABLE locks ADD COLUMN setup_key BLOB CHECK (setup_key IS NULL OR length(setup_key) = 16);`);
  },
};

/**
 * v8: facts the hub kept as JSON in `meta` become rows with foreign keys, so removing a key or
 * a lock removes its facts (ON DELETE CASCADE) and nothing is read back with casts:
 * - per key: checked out, why no door code could be given, door-setting changes (diagnosis);
 * - per lock: battery-low reported, pairing lost, replaced by, security alerts;
 * - IDENT as columns instead of a JSON blob.
 * Facts of keys or locks the store no longer has are dropped with their meta rows.
 */
/** Lock facts and the IDENT fields, one column each (all NULL until known). */
const V8_LOCK_COLUMNS = [
  "battery_low_reported INTEGER",
  "pairing_lost_at INTEGER",
  "replaced_by TEXT",
  ...["protocol_version INTEGER", "lock_id TEXT", "model TEXT", "firmware TEXT", "capabilities INTEGER"].map((c) => `ident_${c}`),
  ...["code_slots", "card_slots", "mobile_key_slots", "code_min_len", "code_max_len"].map((c) => `ident_${c} INTEGER`),
];

const v8FactsAsTables: Migration = {
  version: 8,
  name: "key and lock facts as tables",
  up(db) {
    db.exec(`
      CREATE TABLE key_facts (
        key_id           TEXT PRIMARY KEY REFERENCES keys (key_id) ON DELETE CASCADE,
        checked_out      INTEGER NOT NULL DEFAULT 0 CHECK (checked_out IN (0, 1)),
        code_unavailable TEXT                    -- why the hub could give no door code (in_use, cooling_off...)
      ) STRICT;

      CREATE TABLE key_settings_changes (
        change_id INTEGER PRIMARY KEY,
        key_id    TEXT NOT NULL REFERENCES keys (key_id) ON DELETE CASCADE,
        at        INTEGER NOT NULL,
        source    TEXT NOT NULL,
        door_id   TEXT NOT NULL,
        fields    TEXT NOT NULL,                 -- JSON array of the protected fields changed
        applied   INTEGER NOT NULL CHECK (applied IN (0, 1))  -- 0: blocked by Protect Configuration
      ) STRICT;
      CREATE INDEX key_settings_changes_by_key ON key_settings_changes (key_id, change_id);

      CREATE TABLE lock_security_alerts (
        lock_id    TEXT NOT NULL REFERENCES locks (lock_id) ON DELETE CASCADE,
        reason     TEXT NOT NULL,
        first_at   INTEGER NOT NULL,
        last_at    INTEGER NOT NULL,
        count      INTEGER NOT NULL,
        emitted_at INTEGER NOT NULL,             -- 0: never sent upstream
        unreported INTEGER NOT NULL,             -- occurrences the rate limit held back
        PRIMARY KEY (lock_id, reason)
      ) STRICT, WITHOUT ROWID;

      ${V8_LOCK_COLUMNS.map((c) => `ALTER TABLE locks ADD COLUMN ${c};`).join("\n      ")}

      INSERT INTO key_facts (key_id, checked_out)
        SELECT substr(m.key, length('key.lifecycle:') + 1), 1 FROM meta m
        WHERE m.key LIKE 'key.lifecycle:%' AND json_valid(m.value) AND json_extract(m.value, '$.checkedOut') = 1
          AND substr(m.key, length('key.lifecycle:') + 1) IN (SELECT key_id FROM keys);
      INSERT INTO key_facts (key_id, code_unavailable)
        SELECT substr(m.key, length('key.codeUnavailable:') + 1), m.value FROM meta m
        WHERE m.key LIKE 'key.codeUnavailable:%' AND substr(m.key, length('key.codeUnavailable:') + 1) IN (SELECT key_id FROM keys)
        ON CONFLICT (key_id) DO UPDATE SET code_unavailable = excluded.code_unavailable;
      INSERT INTO key_settings_changes (key_id, at, source, door_id, fields, applied)
        SELECT substr(m.key, length('key.settingsHistory:') + 1), json_extract(c.value, '$.atMs'), json_extract(c.value, '$.source'),
               json_extract(c.value, '$.doorId'), json(json_extract(c.value, '$.fields')), json_extract(c.value, '$.applied')
        FROM meta m, json_each(m.value) c
        WHERE m.key LIKE 'key.settingsHistory:%' AND json_valid(m.value)
          AND substr(m.key, length('key.settingsHistory:') + 1) IN (SELECT key_id FROM keys)
          AND json_type(c.value, '$.atMs') = 'integer' AND json_type(c.value, '$.source') = 'text'
          AND json_type(c.value, '$.doorId') = 'text' AND json_type(c.value, '$.fields') = 'array'
        ORDER BY m.key, c.key;

      UPDATE locks SET battery_low_reported = (SELECT CAST(m.value AS INTEGER) FROM meta m WHERE m.key = 'lock.batteryLowReported:' || locks.lock_id);
      UPDATE locks SET pairing_lost_at = (SELECT CAST(unixepoch(m.value, 'subsec') * 1000 AS INTEGER) FROM meta m WHERE m.key = 'lock.pairingLost:' || locks.lock_id);
      UPDATE locks SET replaced_by = (SELECT m.value FROM meta m WHERE m.key = 'lock.replacedBy:' || locks.lock_id);
      INSERT INTO lock_security_alerts (lock_id, reason, first_at, last_at, count, emitted_at, unreported)
        SELECT l.lock_id, json_extract(m.value, '$.reason'),
               CAST(unixepoch(json_extract(m.value, '$.firstAt'), 'subsec') * 1000 AS INTEGER),
               CAST(unixepoch(json_extract(m.value, '$.lastAt'), 'subsec') * 1000 AS INTEGER),
               json_extract(m.value, '$.count'), json_extract(m.value, '$.emittedAtMs'), json_extract(m.value, '$.unreported')
        FROM meta m JOIN locks l ON m.key = 'lock.securityAlert:' || l.lock_id || ':' || json_extract(m.value, '$.reason')
        WHERE m.key LIKE 'lock.securityAlert:%' AND json_valid(m.value)
          AND json_type(m.value, '$.count') = 'integer' AND unixepoch(json_extract(m.value, '$.lastAt')) IS NOT NULL;

      UPDATE locks SET
        ident_protocol_version = COALESCE(json_extract(ident, '$.protocolVersion'), 1),
        ident_lock_id          = COALESCE(json_extract(ident, '$.lockId'), lock_id),
        ident_model            = COALESCE(json_extract(ident, '$.model'), ''),
        ident_firmware         = COALESCE(json_extract(ident, '$.firmware'), ''),
        ident_capabilities     = COALESCE(json_extract(ident, '$.capabilities'), 0),
        ident_code_slots       = COALESCE(json_extract(ident, '$.codeSlots'), 0),
        ident_card_slots       = COALESCE(json_extract(ident, '$.cardSlots'), 0),
        ident_mobile_key_slots = COALESCE(json_extract(ident, '$.mobileKeySlots'), 0),
        ident_code_min_len     = COALESCE(json_extract(ident, '$.codeMinLen'), 0),
        ident_code_max_len     = COALESCE(json_extract(ident, '$.codeMaxLen'), 0)
      WHERE ident IS NOT NULL AND json_valid(ident);
      ALTER TABLE locks DROP COLUMN ident;

      DELETE FROM meta WHERE key LIKE 'key.lifecycle:%' OR key LIKE 'key.codeUnavailable:%' OR key LIKE 'key.settingsHistory:%'
        OR key LIKE 'lock.batteryLowReported:%' OR key LIKE 'lock.pairingLost:%' OR key LIKE 'lock.replacedBy:%' OR key LIKE 'lock.securityAlert:%';
    `);
  },
};

/**
 * v9: when each credential table of a lock last matched its expected TABLE_DIGEST, so that
 * after a restart a slot written before that is still known verified, and one written after
 * it is not (it was only in a worker's memory before).
 */
const v9TableVerifications: Migration = {
  version: 9,
  name: "lock table verifications",
  up(db) {
    db.exec(`
      CREATE TABLE lock_table_verifications (
        lock_id     TEXT NOT NULL REFERENCES locks (lock_id) ON DELETE CASCADE,
        kind        TEXT NOT NULL CHECK (kind IN ('doorCode', 'keycard', 'smartKey')),
        verified_at INTEGER NOT NULL,
        PRIMARY KEY (lock_id, kind)
      ) STRICT, WITHOUT ROWID;
    `);
  },
};

/**
 * v10: firmware jobs (issue 15): one row per firmware.update job and one per lock of it, so a
 * hub restarted mid-update resumes each lock where it was (docs/firmware.md).
 */
const v10FirmwareJobs: Migration = {
  version: 10,
  name: "firmware jobs",
  up(db) {
    db.exec(`
      CREATE TABLE firmware_jobs (
        job_id          TEXT PRIMARY KEY,
        version         TEXT NOT NULL,
        url             TEXT NOT NULL,
        sha256          TEXT NOT NULL,
        size            INTEGER NOT NULL CHECK (size > 0),
        model           TEXT,
        max_offline_ms  INTEGER NOT NULL,
        created_at      INTEGER NOT NULL,
        ended_at        INTEGER
      ) STRICT;
      CREATE TABLE firmware_locks (
        job_id          TEXT NOT NULL REFERENCES firmware_jobs (job_id) ON DELETE CASCADE,
        lock_id         TEXT NOT NULL,
        state           TEXT NOT NULL CHECK (state IN ('queued','transferring','committing','restarting','verifying','applied','failed')),
        byte_offset     INTEGER NOT NULL DEFAULT 0,
        max_chunk       INTEGER,
        percent         INTEGER NOT NULL DEFAULT 0,
        reason          TEXT,
        message         TEXT,
        offline_since   INTEGER,
        updated_at      INTEGER NOT NULL,
        PRIMARY KEY (job_id, lock_id)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX firmware_jobs_open ON firmware_jobs (created_at) WHERE ended_at IS NULL;
    `);
  },
};

/**
 * v11: the sealing counters of each lock move out of the wide `locks` rows into a narrow table
 * of their own. The last accepted lock counter rides along in nearly every commit (store.
 * beforeCommit, src/provisioning/reconcile/link-state.ts); in `locks` (link, ident, health and
 * key columns) that rewrote several pages of the table per commit, here one page holds the
 * counters of hundreds of locks (docs/performance.md, third round). Every lock has its row: the
 * existing ones are copied over, a trigger adds one with each new lock, and it goes with the
 * lock (ON DELETE CASCADE).
 */
const v11LockLinkCounters: Migration = {
  version: 11,
  name: "lock link counters in a table of their own",
  up(db) {
    db.exec(`
      CREATE TABLE lock_link_counters (
        lock_id               TEXT PRIMARY KEY REFERENCES locks (lock_id) ON DELETE CASCADE,
        hub_counter_reserved  INTEGER NOT NULL DEFAULT 0,    -- every hub send counter <= this may have been used
        lock_counter_accepted INTEGER NOT NULL DEFAULT 0     -- last counter accepted from the lock
      ) STRICT, WITHOUT ROWID;
      INSERT INTO lock_link_counters (lock_id, hub_counter_reserved, lock_counter_accepted)
        SELECT lock_id, hub_counter_reserved, lock_counter_accepted FROM locks;
      CREATE TRIGGER locks_have_link_counters AFTER INSERT ON locks
      BEGIN
        INSERT INTO lock_link_counters (lock_id) VALUES (new.lock_id);
      END;
      ALTER TABLE locks DROP COLUMN hub_counter_reserved;
      ALTER TABLE locks DROP COLUMN lock_counter_accepted;
    `);
  },
};

/**
 * v12: the lock event seq acknowledged to each lock joins its counters in lock_link_counters.
 * It is written with every drained page of lock events, in the FULL commit before ACK_EVENTS,
 * and in `locks` that rewrote a page of the wide rows each time (docs/performance.md, third round).
 */
const v12LastEventSeqWithCounters: Migration = {
  version: 12,
  name: "acknowledged lock event seq with the lock link counters",
  up(db) {
    db.exec(`
      ALTER TABLE lock_link_counters ADD COLUMN last_event_seq INTEGER NOT NULL DEFAULT 0; -- highest lock event seq acknowledged to the lock
      UPDATE lock_link_counters SET last_event_seq = (SELECT last_event_seq FROM locks WHERE locks.lock_id = lock_link_counters.lock_id);
      ALTER TABLE locks DROP COLUMN last_event_seq;
    `);
  },
};

/**
 * v13: a key's credentials by key. `credentials.history(keyId)` (every derivation of a key's
 * slot rows, every key status) had only the partial index of current credentials, which a
 * query over revoked ones too cannot use: each call scanned the whole table, O(credentials)
 * per key (docs/performance.md, fourth round). An index only: no data changes.
 */
const v13CredentialsByKey: Migration = {
  version: 13,
  name: "credentials indexed by key",
  up(db) {
    db.exec(`CREATE INDEX credentials_by_key ON credentials (key_id, credential_id);`);
  },
};

/**
 * v14: how many slot rows each lock has per kind, kept by triggers. Allocation asks for the
 * lowest slot without a row, answered at once when the rows have no gap (count = highest + 1);
 * SQLite counts by walking the rows, so each allocation on a lock cost O(its rows) and filling
 * a lobby O(rows²) (docs/performance.md, fourth round). The triggers run inside the writing
 * statement's transaction, so the count rolls back with the rows; the upserts' DO UPDATE path
 * fires no INSERT trigger. The row goes with its lock (ON DELETE CASCADE). Never write lock_slots
 * with REPLACE: the row it deletes fires no DELETE trigger (recursive_triggers is off), and a
 * count too high could hide a free slot below the last row.
 */
const v14SlotCounts: Migration = {
  version: 14,
  name: "slot rows counted per lock and kind",
  up(db) {
    db.exec(`
      CREATE TABLE lock_slot_counts (
        lock_id TEXT NOT NULL REFERENCES locks (lock_id) ON DELETE CASCADE,
        kind    TEXT NOT NULL,
        n       INTEGER NOT NULL,              -- rows of lock_slots with this lock_id and kind
        PRIMARY KEY (lock_id, kind)
      ) STRICT, WITHOUT ROWID;
      INSERT INTO lock_slot_counts (lock_id, kind, n) SELECT lock_id, kind, count(*) FROM lock_slots GROUP BY lock_id, kind;
      CREATE TRIGGER lock_slots_counted_insert AFTER INSERT ON lock_slots
      BEGIN
        INSERT OR IGNORE INTO lock_slot_counts (lock_id, kind, n) VALUES (new.lock_id, new.kind, 0);
        UPDATE lock_slot_counts SET n = n + 1 WHERE lock_id = new.lock_id AND kind = new.kind;
      END;
      CREATE TRIGGER lock_slots_counted_delete AFTER DELETE ON lock_slots
      BEGIN
        UPDATE lock_slot_counts SET n = n - 1 WHERE lock_id = old.lock_id AND kind = old.kind;
      END;
    `);
  },
};

/** Every shipped migration, in order. The last one's version is the current schema version. */
export const MIGRATIONS: readonly Migration[] = [
  v1BaseSchema,
  v2SnapshotPages,
  v3SlotRetry,
  v4PendingLinkKey,
  v5UnwantedSlots,
  v6UnsentResponses,
  v7SetupKey,
  v8FactsAsTables,
  v9TableVerifications,
  v10FirmwareJobs,
  v11LockLinkCounters,
  v12LastEventSeqWithCounters,
  v13CredentialsByKey,
  v14SlotCounts,
];

export const SCHEMA_VERSION = MIGRATIONS.length;
