/**
 * What the hub decided for each key: its door code, its keycard, its mobile key. At most
 * one current credential per key and kind; a replaced or revoked one keeps its row with
 * revokedAt (the door-code cooling-off counts from it, and locks may still hold it).
 * Values are secrets (door codes): never log them.
 */
import type { CodeAssignment, CredentialType } from "../../access/model.js";
import { LockBridgeError } from "../../shared/errors.js";
import { statementCache, type RepoContext } from "../db.js";

export interface CredentialRecord {
  credentialId: number;
  keyId: string;
  kind: CredentialType;
  /** doorCode: the digits; keycard: the cardId (UID in the keycards inventory); smartKey: base64 public key. */
  value: string;
  /** How a door code was assigned; null for the other kinds. */
  assignment: CodeAssignment | null;
  createdAt: number;
  revokedAt: number | null;
}

export interface NewCredential {
  keyId: string;
  kind: CredentialType;
  value: string;
  assignment?: CodeAssignment | null;
}

interface CredentialRow {
  credential_id: number;
  key_id: string;
  kind: CredentialType;
  value: string;
  assignment: CodeAssignment | null;
  created_at: number;
  revoked_at: number | null;
}

const COLUMNS = "credential_id, key_id, kind, value, assignment, created_at, revoked_at";

const toRecord = (r: CredentialRow): CredentialRecord => ({
  credentialId: r.credential_id,
  keyId: r.key_id,
  kind: r.kind,
  value: r.value,
  assignment: r.assignment,
  createdAt: r.created_at,
  revokedAt: r.revoked_at,
});

export class CredentialsRepo {
  private readonly q;
  private readonly assignTx;
  constructor(private readonly ctx: RepoContext) {
    this.q = statementCache(ctx.db);
    this.assignTx = ctx.db.transaction((c: NewCredential): CredentialRecord => this.assignRows(c));
  }

  get(credentialId: number): CredentialRecord | undefined {
    const r = this.q(`SELECT ${COLUMNS} FROM credentials WHERE credential_id = ?`).get(credentialId) as CredentialRow | undefined;
    return r && toRecord(r);
  }

  /** The key's current (not revoked) credentials, by kind order doorCode, keycard, smartKey. */
  current(keyId: string): CredentialRecord[] {
    return (
      this.q(
        `SELECT ${COLUMNS} FROM credentials WHERE key_id = ? AND revoked_at IS NULL
         ORDER BY CASE kind WHEN 'doorCode' THEN 0 WHEN 'keycard' THEN 1 ELSE 2 END`,
      ).all(keyId) as CredentialRow[]
    ).map(toRecord);
  }

  currentOf(keyId: string, kind: CredentialType): CredentialRecord | undefined {
    const r = this.q(`SELECT ${COLUMNS} FROM credentials WHERE key_id = ? AND kind = ? AND revoked_at IS NULL`).get(keyId, kind) as
      | CredentialRow
      | undefined;
    return r && toRecord(r);
  }

  /** Every credential of a key, revoked ones included, oldest first. */
  history(keyId: string): CredentialRecord[] {
    return (this.q(`SELECT ${COLUMNS} FROM credentials WHERE key_id = ? ORDER BY credential_id`).all(keyId) as CredentialRow[]).map(toRecord);
  }

  /**
   * Makes `c` the key's current credential of its kind, revoking the previous one in the
   * same transaction. Throws keycard_in_use when another key currently holds that card.
   */
  assign(c: NewCredential): CredentialRecord {
    return this.assignTx.immediate(c);
  }

  /** @returns whether a current credential was revoked. */
  revoke(credentialId: number): boolean {
    return (
      this.q("UPDATE credentials SET revoked_at = ? WHERE credential_id = ? AND revoked_at IS NULL").run(this.ctx.clock.now(), credentialId)
        .changes > 0
    );
  }

  /** Revokes the key's current credentials (of one kind, or all). @returns how many. */
  revokeForKey(keyId: string, kind?: CredentialType): number {
    const now = this.ctx.clock.now();
    if (kind) return this.q("UPDATE credentials SET revoked_at = ? WHERE key_id = ? AND kind = ? AND revoked_at IS NULL").run(now, keyId, kind).changes;
    return this.q("UPDATE credentials SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL").run(now, keyId).changes;
  }

  /**
   * Door codes that may not be handed out now, with when each was revoked: every current
   * one (revokedAt null), plus those revoked at or after `revokedSince` (the cooling-off
   * start, ms; the latest revocation counts). Per-lock uniqueness is the allocator's job.
   */
  unavailableDoorCodes(revokedSince: number): Map<string, number | null> {
    const rows = this.q(
      `SELECT value, CASE WHEN SUM(revoked_at IS NULL) > 0 THEN NULL ELSE MAX(revoked_at) END AS revoked_at
         FROM credentials WHERE kind = 'doorCode' AND (revoked_at IS NULL OR revoked_at >= ?) GROUP BY value`,
    ).all(revokedSince) as { value: string; revoked_at: number | null }[];
    return new Map(rows.map((r) => [r.value, r.revoked_at]));
  }

  /** The current credential holding `value` of `kind` (e.g. which key a keycard serves). */
  findCurrentByValue(kind: CredentialType, value: string): CredentialRecord[] {
    return (
      this.q(`SELECT ${COLUMNS} FROM credentials WHERE kind = ? AND value = ? AND revoked_at IS NULL ORDER BY credential_id`).all(
        kind,
        value,
      ) as CredentialRow[]
    ).map(toRecord);
  }

  /**
   * Deletes credentials revoked before `cutoff` that no lock slot refers to any more.
   * @returns how many were deleted.
   */
  purgeRevokedBefore(cutoff: number): number {
    return this.q(
      `DELETE FROM credentials WHERE revoked_at IS NOT NULL AND revoked_at < ?
         AND NOT EXISTS (SELECT 1 FROM lock_slots s
           WHERE s.desired_credential_id = credentials.credential_id OR s.applied_credential_id = credentials.credential_id)`,
    ).run(cutoff).changes;
  }

  private assignRows(c: NewCredential): CredentialRecord {
    const now = this.ctx.clock.now();
    if (c.kind === "keycard") {
      // Literal kind: lets SQLite use the small partial index credentials_current_card.
      const holder = this.q("SELECT key_id FROM credentials WHERE kind = 'keycard' AND value = ? AND revoked_at IS NULL").get(c.value) as
        | { key_id: string }
        | undefined;
      if (holder && holder.key_id !== c.keyId) throw new LockBridgeError("keycard_in_use", `keycard ${c.value} already serves key ${holder.key_id}`);
    }
    this.q("UPDATE credentials SET revoked_at = ? WHERE key_id = ? AND kind = ? AND revoked_at IS NULL").run(now, c.keyId, c.kind);
    // run() + lastInsertRowid: RETURNING costs several times a plain insert in better-sqlite3.
    const assignment = c.assignment ?? null;
    const { lastInsertRowid } = this.q("INSERT INTO credentials (key_id, kind, value, assignment, created_at) VALUES (?, ?, ?, ?, ?)").run(
      c.keyId,
      c.kind,
      c.value,
      assignment,
      now,
    );
    return { credentialId: Number(lastInsertRowid), keyId: c.keyId, kind: c.kind, value: c.value, assignment, createdAt: now, revokedAt: null };
  }
}
