/**
 * Keys as the cloud wants them (key.upsert / key.remove / key.checkin / snapshot), with
 * their per-door access settings. Versions guard against reordering: an upsert or remove
 * older than what is stored changes nothing and reports 'stale' (mqtt-api.md §3).
 * A removed key stays as a tombstone (removedAt set, state revoking) until purge().
 */
import type { DoorCodeRequest, Key, KeyDoorAccess, KeycardRequest, KeySource, SmartKeyRequest } from "../../access/model.js";
import { fromBool, fromJson, fromJsonOrNull, statementCache, toBool, toJson, type RepoContext } from "../db.js";

/** A stored key: the desired state plus the hub's bookkeeping. */
export interface KeyRecord extends Key {
  /** ms since epoch of key.remove; null for a live key. The key's credentials must be revoked. */
  removedAt: number | null;
  updatedAt: number;
}

export type VersionOutcome = "stale" | "applied";

interface KeyRow {
  key_id: string;
  version: number;
  source: KeySource;
  pms: string | null;
  holder: string | null;
  checked_in: number;
  door_code_request: string;
  keycard_request: string;
  smart_key_request: string;
  removed_at: number | null;
  updated_at: number;
}

interface KeyDoorRow {
  key_id: string;
  door_id: string;
  access_from: string;
  access_to: string;
  arrival_time: string;
  departure_time: string;
  allow_provisioning: number;
  allow_linked_doors_access: number;
}

const KEY_COLUMNS = `key_id, version, source, pms, holder, checked_in, door_code_request, keycard_request, smart_key_request, removed_at, updated_at`;
const DOOR_COLUMNS = `key_id, door_id, access_from, access_to, arrival_time, departure_time, allow_provisioning, allow_linked_doors_access`;

const toAccess = (r: KeyDoorRow): KeyDoorAccess => ({
  doorId: r.door_id,
  accessPeriod: { from: r.access_from, to: r.access_to },
  arrivalTime: r.arrival_time,
  departureTime: r.departure_time,
  allowProvisioning: toBool(r.allow_provisioning),
  allowLinkedDoorsAccess: toBool(r.allow_linked_doors_access),
});

export class KeysRepo {
  private readonly q;
  private readonly upsertTx;
  constructor(private readonly ctx: RepoContext) {
    this.q = statementCache(ctx.db);
    this.upsertTx = ctx.db.transaction((key: Key): VersionOutcome => this.upsertRows(key));
  }

  /** A key, live or removed (see removedAt). */
  get(keyId: string): KeyRecord | undefined {
    const row = this.q(`SELECT ${KEY_COLUMNS} FROM keys WHERE key_id = ?`).get(keyId) as KeyRow | undefined;
    if (!row) return undefined;
    const doors = (this.q(`SELECT ${DOOR_COLUMNS} FROM key_doors WHERE key_id = ? ORDER BY position`).all(keyId) as KeyDoorRow[]).map(toAccess);
    return this.toRecord(row, doors);
  }

  /** All keys ordered by keyId; removed ones only when asked. */
  list(opts: { includeRemoved?: boolean } = {}): KeyRecord[] {
    const where = opts.includeRemoved ? "" : "WHERE k.removed_at IS NULL";
    const rows = this.q(`SELECT ${KEY_COLUMNS} FROM keys k ${where} ORDER BY key_id`).all() as KeyRow[];
    const doorRows = this.q(
      `SELECT ${DOOR_COLUMNS.split(", ").map((c) => `d.${c}`).join(", ")} FROM key_doors d JOIN keys k USING (key_id) ${where} ORDER BY d.key_id, d.position`,
    ).all() as KeyDoorRow[];
    const byKey = new Map<string, KeyDoorAccess[]>();
    for (const d of doorRows) {
      const list = byKey.get(d.key_id) ?? [];
      list.push(toAccess(d));
      byKey.set(d.key_id, list);
    }
    return rows.map((r) => this.toRecord(r, byKey.get(r.key_id) ?? []));
  }

  /** Ids of live keys (or all, tombstones included). */
  ids(opts: { includeRemoved?: boolean } = {}): string[] {
    const where = opts.includeRemoved ? "" : "WHERE removed_at IS NULL";
    return (this.q(`SELECT key_id FROM keys ${where} ORDER BY key_id`).all() as { key_id: string }[]).map((r) => r.key_id);
  }

  /** Live keys with an access entry for `doorId` (not following links). */
  idsByDoor(doorId: string): string[] {
    return (
      this.q(
        "SELECT d.key_id FROM key_doors d JOIN keys k USING (key_id) WHERE d.door_id = ? AND k.removed_at IS NULL ORDER BY d.key_id",
      ).all(doorId) as { key_id: string }[]
    ).map((r) => r.key_id);
  }

  /** Whether any key not removed is stored: stops at the first, not a count (asked after every command). */
  anyLive(): boolean {
    return this.q("SELECT 1 FROM keys WHERE removed_at IS NULL LIMIT 1").get() !== undefined;
  }

  count(opts: { includeRemoved?: boolean } = {}): number {
    const where = opts.includeRemoved ? "" : "WHERE removed_at IS NULL";
    return (this.q(`SELECT count(*) AS n FROM keys ${where}`).get() as { n: number }).n;
  }

  /**
   * Stores `key` with its door entries (replacing them), in one transaction.
   * 'stale' (nothing changed) when the stored version is higher, or equal for a removed key
   * (its removal at that version wins); a newer upsert revives a removed key.
   */
  upsert(key: Key): VersionOutcome {
    return this.upsertTx.immediate(key);
  }

  /**
   * key.remove: marks the key removed (tombstone; its door entries stay for the status).
   * 'stale' when the stored version is higher; undefined when the key is unknown.
   */
  remove(keyId: string, version: number): VersionOutcome | undefined {
    const row = this.q("SELECT version, removed_at FROM keys WHERE key_id = ?").get(keyId) as
      | { version: number; removed_at: number | null }
      | undefined;
    if (!row) return undefined;
    if (version < row.version) return "stale";
    this.q(
      "UPDATE keys SET version = @version, removed_at = coalesce(removed_at, @now), updated_at = @now WHERE key_id = @keyId",
    ).run({ version, now: this.ctx.clock.now(), keyId });
    return "applied";
  }

  /** key.checkin (no version in the contract). @returns false for an unknown or removed key. */
  setCheckedIn(keyId: string, checkedIn: boolean): boolean {
    return (
      this.q("UPDATE keys SET checked_in = ?, updated_at = ? WHERE key_id = ? AND removed_at IS NULL").run(
        fromBool(checkedIn),
        this.ctx.clock.now(),
        keyId,
      ).changes > 0
    );
  }

  /** Deletes a key and its door entries for good (once every lock has dropped its credentials). */
  purge(keyId: string): boolean {
    return this.q("DELETE FROM keys WHERE key_id = ?").run(keyId).changes > 0;
  }

  private upsertRows(key: Key): VersionOutcome {
    const row = this.q("SELECT version, removed_at FROM keys WHERE key_id = ?").get(key.keyId) as
      | { version: number; removed_at: number | null }
      | undefined;
    if (row && (key.version < row.version || (row.removed_at !== null && key.version === row.version))) return "stale";
    this.q(
      `INSERT INTO keys (${KEY_COLUMNS})
       VALUES (@keyId, @version, @source, @pms, @holder, @checkedIn, @doorCode, @keycard, @smartKey, NULL, @now)
       ON CONFLICT (key_id) DO UPDATE SET version = excluded.version, source = excluded.source, pms = excluded.pms,
         holder = excluded.holder, checked_in = excluded.checked_in, door_code_request = excluded.door_code_request,
         keycard_request = excluded.keycard_request, smart_key_request = excluded.smart_key_request,
         removed_at = NULL, updated_at = excluded.updated_at`,
    ).run({
      keyId: key.keyId,
      version: key.version,
      source: key.source,
      pms: key.pms ? toJson(key.pms) : null,
      holder: key.holder ? toJson(key.holder) : null,
      checkedIn: fromBool(key.checkedIn),
      doorCode: toJson(key.doorCode),
      keycard: toJson(key.keycard),
      smartKey: toJson(key.smartKey),
      now: this.ctx.clock.now(),
    });
    if (row) this.q("DELETE FROM key_doors WHERE key_id = ?").run(key.keyId);
    const insertDoor = this.q(
      `INSERT INTO key_doors (key_id, door_id, position, access_from, access_to, arrival_time, departure_time,
         allow_provisioning, allow_linked_doors_access)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    key.doors.forEach((d, i) =>
      insertDoor.run(
        key.keyId,
        d.doorId,
        i,
        d.accessPeriod.from,
        d.accessPeriod.to,
        d.arrivalTime,
        d.departureTime,
        fromBool(d.allowProvisioning),
        fromBool(d.allowLinkedDoorsAccess),
      ),
    );
    return "applied";
  }

  private toRecord(r: KeyRow, doors: KeyDoorAccess[]): KeyRecord {
    const pms = fromJsonOrNull<NonNullable<Key["pms"]>>(r.pms);
    const holder = fromJsonOrNull<NonNullable<Key["holder"]>>(r.holder);
    return {
      keyId: r.key_id,
      version: r.version,
      source: r.source,
      ...(pms ? { pms } : {}),
      ...(holder ? { holder } : {}),
      checkedIn: toBool(r.checked_in),
      doors,
      doorCode: fromJson<DoorCodeRequest>(r.door_code_request),
      keycard: fromJson<KeycardRequest>(r.keycard_request),
      smartKey: fromJson<SmartKeyRequest>(r.smart_key_request),
      removedAt: r.removed_at,
      updatedAt: r.updated_at,
    };
  }
}
