/**
 * What the hub learnt about a key beside the cloud's own fields: whether it was checked out,
 * why no door code could be given, and the door-setting changes diagnosis explains. Rows hang
 * off `keys` with ON DELETE CASCADE: a key purged from the store takes its facts with it, and
 * facts of a key the store does not have are not kept (writes to them do nothing).
 */
import type { KeySource } from "../../access/model.js";
import type { ProtectedField } from "../../access/protect-config.js";
import { fromBool, fromJson, statementCache, toBool, toJson, type RepoContext } from "../db.js";

/** One change of a door's access settings on a key, or a PMS attempt Protect Configuration blocked. */
export interface SettingsChange {
  atMs: number;
  source: KeySource;
  doorId: string;
  fields: ProtectedField[];
  /** false: blocked by Protect Configuration. */
  applied: boolean;
}

/** How many settings changes are kept per key (the newest). */
export const SETTINGS_CHANGES_KEPT = 20;

interface ChangeRow {
  at: number;
  source: KeySource;
  door_id: string;
  fields: string;
  applied: number;
}

export class KeyFactsRepo {
  private readonly q;
  constructor(ctx: RepoContext) {
    this.q = statementCache(ctx.db);
  }

  checkedOut(keyId: string): boolean {
    const row = this.q("SELECT checked_out FROM key_facts WHERE key_id = ?").get(keyId) as { checked_out: number } | undefined;
    return row !== undefined && toBool(row.checked_out);
  }

  setCheckedOut(keyId: string, checkedOut: boolean): void {
    this.q(
      `INSERT INTO key_facts (key_id, checked_out) SELECT key_id, @value FROM keys WHERE key_id = @keyId
       ON CONFLICT (key_id) DO UPDATE SET checked_out = excluded.checked_out`,
    ).run({ keyId, value: fromBool(checkedOut) });
  }

  /** Why the hub could give the key no door code (a refusal of src/access/codes.ts), or null. */
  codeUnavailable(keyId: string): string | null {
    const row = this.q("SELECT code_unavailable FROM key_facts WHERE key_id = ?").get(keyId) as { code_unavailable: string | null } | undefined;
    return row?.code_unavailable ?? null;
  }

  setCodeUnavailable(keyId: string, reason: string | null): void {
    this.q(
      `INSERT INTO key_facts (key_id, code_unavailable) SELECT key_id, @value FROM keys WHERE key_id = @keyId
       ON CONFLICT (key_id) DO UPDATE SET code_unavailable = excluded.code_unavailable`,
    ).run({ keyId, value: reason });
  }

  /** Appends changes, keeping the newest SETTINGS_CHANGES_KEPT of the key (none for a key the store does not have). */
  addSettingsChanges(keyId: string, changes: readonly SettingsChange[]): void {
    if (changes.length === 0 || this.q("SELECT 1 FROM keys WHERE key_id = ?").get(keyId) === undefined) return;
    const insert = this.q("INSERT INTO key_settings_changes (key_id, at, source, door_id, fields, applied) VALUES (?, ?, ?, ?, ?, ?)");
    for (const c of changes) insert.run(keyId, c.atMs, c.source, c.doorId, toJson(c.fields), fromBool(c.applied));
    this.q(
      `DELETE FROM key_settings_changes WHERE key_id = @keyId AND change_id NOT IN
         (SELECT change_id FROM key_settings_changes WHERE key_id = @keyId ORDER BY change_id DESC LIMIT ${SETTINGS_CHANGES_KEPT})`,
    ).run({ keyId });
  }

  /** Oldest first. */
  settingsChanges(keyId: string): SettingsChange[] {
    const rows = this.q("SELECT at, source, door_id, fields, applied FROM key_settings_changes WHERE key_id = ? ORDER BY change_id").all(keyId) as ChangeRow[];
    return rows.map((r) => ({ atMs: r.at, source: r.source, doorId: r.door_id, fields: fromJson<ProtectedField[]>(r.fields), applied: toBool(r.applied) }));
  }
}
