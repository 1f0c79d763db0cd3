/**
 * Per-lock provisioning state: for every (lock, kind, slot), what should be there (desired)
 * and what the lock holds as far as the hub knows (applied). The provisioning engine
 * computes plans from the difference, applies them and records the outcome here.
 * A credential keeps its slot on a lock as long as it is desired there (stable allocation,
 * across restarts), so plans stay small and events map back to credentials.
 */
import type { CredentialType } from "../../access/model.js";
import { statementCache, type RepoContext } from "../db.js";

/** The content of a slot as LLP describes it (PUT_CREDENTIAL / READ_SLOTS). */
export interface SlotContent {
  /** Which credential this is; null in `applied` for content the hub did not put there. */
  credentialId: number | null;
  /** Lock time, u32 seconds. */
  validFrom: number;
  validUntil: number;
  flags: number;
  /** First 4 bytes of SHA-256(secret). */
  secretDigest: Buffer;
}

export interface DesiredSlotContent extends SlotContent {
  credentialId: number;
}

/**
 * unknown: the hub lost track (memory loss suspected); empty: believed empty (a slot with no
 * row at all is empty too); held: holds `applied`.
 */
export type AppliedState = "unknown" | "empty" | "held";

export interface SlotRecord {
  lockId: string;
  kind: CredentialType;
  slot: number;
  /** null: the slot should be empty. */
  desired: DesiredSlotContent | null;
  appliedState: AppliedState;
  /** Set when appliedState is 'held'. */
  applied: SlotContent | null;
  /** desired and applied agree (an empty desire is met by a known-empty slot). */
  inSync: boolean;
  lastError: string | null;
  attempts: number;
  /** When to try again after a failure (ms); null: no retry scheduled. */
  nextAttemptAt: number | null;
  updatedAt: number;
}

/** One used slot as READ_SLOTS reports it. */
export interface ObservedSlot {
  slot: number;
  validFrom: number;
  validUntil: number;
  flags: number;
  secretDigest: Buffer;
}

interface SlotRow {
  lock_id: string;
  kind: CredentialType;
  slot: number;
  desired_credential_id: number | null;
  desired_valid_from: number | null;
  desired_valid_until: number | null;
  desired_flags: number | null;
  desired_digest: Buffer | null;
  applied_state: AppliedState;
  applied_credential_id: number | null;
  applied_valid_from: number | null;
  applied_valid_until: number | null;
  applied_flags: number | null;
  applied_digest: Buffer | null;
  last_error: string | null;
  attempts: number;
  next_attempt_at: number | null;
  updated_at: number;
}

const COLUMNS = `lock_id, kind, slot, desired_credential_id, desired_valid_from, desired_valid_until, desired_flags, desired_digest,
  applied_state, applied_credential_id, applied_valid_from, applied_valid_until, applied_flags, applied_digest,
  last_error, attempts, next_attempt_at, updated_at`;

export const sameContent = (a: SlotContent, b: SlotContent): boolean =>
  a.validFrom === b.validFrom && a.validUntil === b.validUntil && a.flags === b.flags && a.secretDigest.equals(b.secretDigest);

function toRecord(r: SlotRow): SlotRecord {
  const desired: DesiredSlotContent | null =
    r.desired_credential_id === null
      ? null
      : {
          credentialId: r.desired_credential_id,
          validFrom: r.desired_valid_from ?? 0,
          validUntil: r.desired_valid_until ?? 0,
          flags: r.desired_flags ?? 0,
          secretDigest: r.desired_digest ?? Buffer.alloc(4),
        };
  const applied: SlotContent | null =
    r.applied_state !== "held"
      ? null
      : {
          credentialId: r.applied_credential_id,
          validFrom: r.applied_valid_from ?? 0,
          validUntil: r.applied_valid_until ?? 0,
          flags: r.applied_flags ?? 0,
          secretDigest: r.applied_digest ?? Buffer.alloc(4),
        };
  const inSync = desired === null ? r.applied_state === "empty" : applied !== null && applied.credentialId === desired.credentialId && sameContent(applied, desired);
  return {
    lockId: r.lock_id,
    kind: r.kind,
    slot: r.slot,
    desired,
    appliedState: r.applied_state,
    applied,
    inSync,
    lastError: r.last_error,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    updatedAt: r.updated_at,
  };
}

export class SlotsRepo {
  private readonly q;
  private readonly assignTx;
  private readonly observeTx;
  constructor(private readonly ctx: RepoContext) {
    this.q = statementCache(ctx.db);
    this.assignTx = ctx.db.transaction((lockId: string, kind: CredentialType, content: DesiredSlotContent, slotCount: number) =>
      this.assignRows(lockId, kind, content, slotCount),
    );
    this.observeTx = ctx.db.transaction((lockId: string, kind: CredentialType, firstSlot: number, count: number, observed: ObservedSlot[]) =>
      this.observeRows(lockId, kind, firstSlot, count, observed),
    );
  }

  get(lockId: string, kind: CredentialType, slot: number): SlotRecord | undefined {
    const r = this.q(`SELECT ${COLUMNS} FROM lock_slots WHERE lock_id = ? AND kind = ? AND slot = ?`).get(lockId, kind, slot) as SlotRow | undefined;
    return r && toRecord(r);
  }

  /** The lock's slot rows (of one kind, or all), by kind then slot. */
  forLock(lockId: string, kind?: CredentialType): SlotRecord[] {
    const rows = kind
      ? this.q(`SELECT ${COLUMNS} FROM lock_slots WHERE lock_id = ? AND kind = ? ORDER BY slot`).all(lockId, kind)
      : this.q(`SELECT ${COLUMNS} FROM lock_slots WHERE lock_id = ? ORDER BY kind, slot`).all(lockId);
    return (rows as SlotRow[]).map(toRecord);
  }

  /** Slots where desired and applied differ: the lock's work list. */
  outOfSync(lockId: string): SlotRecord[] {
    return this.forLock(lockId).filter((s) => !s.inSync);
  }

  /** Every slot (any lock) that desires or holds `credentialId`. */
  byCredential(credentialId: number): SlotRecord[] {
    return (
      this.q(
        `SELECT ${COLUMNS} FROM lock_slots WHERE desired_credential_id = ? OR applied_credential_id = ? ORDER BY lock_id, kind, slot`,
      ).all(credentialId, credentialId) as SlotRow[]
    ).map(toRecord);
  }

  /** Failed slots whose retry is due at `now`. */
  due(now: number): SlotRecord[] {
    return (
      this.q(`SELECT ${COLUMNS} FROM lock_slots WHERE next_attempt_at IS NOT NULL AND next_attempt_at <= ? ORDER BY next_attempt_at`).all(
        now,
      ) as SlotRow[]
    ).map(toRecord);
  }

  /**
   * Desires `content` on `lockId` and returns its slot: the slot the credential already has
   * there, else the lowest free slot below `slotCount` (known empty or never used first, then
   * one holding only unwanted content). null when the lock's table of that kind is full.
   */
  assign(lockId: string, kind: CredentialType, content: DesiredSlotContent, slotCount: number): number | null {
    // Inside the caller's transaction (a command, a snapshot deriving thousands of rows) no
    // savepoint of its own: the reads and the one upsert it makes need none to stay whole.
    if (this.ctx.db.inTransaction) return this.assignRows(lockId, kind, content, slotCount);
    return this.assignTx.immediate(lockId, kind, content, slotCount);
  }

  /** The slot desired for `credentialId` on that lock, if any. */
  slotOf(lockId: string, kind: CredentialType, credentialId: number): number | undefined {
    const r = this.q("SELECT slot FROM lock_slots WHERE lock_id = ? AND kind = ? AND desired_credential_id = ?").get(lockId, kind, credentialId) as
      | { slot: number }
      | undefined;
    return r?.slot;
  }

  /** Wants the slot empty (revocation); what it holds stays recorded until applied. */
  clearDesired(lockId: string, kind: CredentialType, slot: number): boolean {
    return (
      this.q(
        `UPDATE lock_slots SET desired_credential_id = NULL, desired_valid_from = NULL, desired_valid_until = NULL,
           desired_flags = NULL, desired_digest = NULL, last_error = NULL, attempts = 0, next_attempt_at = NULL, updated_at = ?
         WHERE lock_id = ? AND kind = ? AND slot = ?`,
      ).run(this.ctx.clock.now(), lockId, kind, slot).changes > 0
    );
  }

  /**
   * The lock confirmed the slot now holds `content` (null: empty). Clears the error and retry.
   * `atMs`: when the lock confirmed it, if recorded later (a table verification after that
   * instant covers the write); now by default.
   */
  markApplied(lockId: string, kind: CredentialType, slot: number, content: SlotContent | null, atMs?: number): void {
    this.writeApplied(lockId, kind, slot, content, true, atMs);
  }

  /** An attempt on the slot failed (`reason`: a DoorReason or NAK name); schedule a retry or not. */
  markFailed(lockId: string, kind: CredentialType, slot: number, reason: string, nextAttemptAt: number | null = null): boolean {
    return (
      this.q(
        `UPDATE lock_slots SET last_error = ?, attempts = attempts + 1, next_attempt_at = ?, updated_at = ?
         WHERE lock_id = ? AND kind = ? AND slot = ?`,
      ).run(reason, nextAttemptAt, this.ctx.clock.now(), lockId, kind, slot).changes > 0
    );
  }

  /**
   * Records a READ_SLOTS answer for slots [firstSlot, firstSlot + count): reported slots are
   * held (credentialId kept when the content is what the hub desired or last put there, else
   * null: foreign), the others in the range are empty. One transaction.
   */
  recordObserved(lockId: string, kind: CredentialType, firstSlot: number, count: number, observed: ObservedSlot[]): void {
    this.observeTx.immediate(lockId, kind, firstSlot, count, observed);
  }

  /**
   * The lock lost its memory or was factory reset (`empty`), or the hub can no longer trust
   * what it recorded (`unknown`): every applied record of the lock is set to that state.
   */
  resetApplied(lockId: string, state: "empty" | "unknown"): number {
    return this.q(
      `UPDATE lock_slots SET applied_state = ?, applied_credential_id = NULL, applied_valid_from = NULL, applied_valid_until = NULL,
         applied_flags = NULL, applied_digest = NULL, updated_at = ? WHERE lock_id = ?`,
    ).run(state, this.ctx.clock.now(), lockId).changes;
  }

  /** Used slots (applied held) per kind on a lock, for the lock status. */
  usedCounts(lockId: string): Record<CredentialType, number> {
    const counts: Record<CredentialType, number> = { doorCode: 0, keycard: 0, smartKey: 0 };
    const rows = this.q("SELECT kind, count(*) AS n FROM lock_slots WHERE lock_id = ? AND applied_state = 'held' GROUP BY kind").all(lockId) as {
      kind: CredentialType;
      n: number;
    }[];
    for (const r of rows) counts[r.kind] = r.n;
    return counts;
  }

  /** Drops rows that carry nothing (nothing desired, known empty, no error). @returns how many. */
  prune(lockId: string): number {
    return this.q(
      "DELETE FROM lock_slots WHERE lock_id = ? AND desired_credential_id IS NULL AND applied_state = 'empty' AND last_error IS NULL",
    ).run(lockId).changes;
  }

  private assignRows(lockId: string, kind: CredentialType, content: DesiredSlotContent, slotCount: number): number | null {
    const slot = this.slotOf(lockId, kind, content.credentialId) ?? this.freeSlot(lockId, kind, slotCount);
    if (slot === undefined) return null;
    const current = this.get(lockId, kind, slot);
    const unchanged = current?.desired && current.desired.credentialId === content.credentialId && sameContent(current.desired, content);
    if (unchanged) return slot;
    this.q(
      `INSERT INTO lock_slots (lock_id, kind, slot, desired_credential_id, desired_valid_from, desired_valid_until, desired_flags,
         desired_digest, applied_state, updated_at)
       VALUES (@lockId, @kind, @slot, @credentialId, @validFrom, @validUntil, @flags, @digest, 'empty', @now)
       ON CONFLICT (lock_id, kind, slot) DO UPDATE SET desired_credential_id = excluded.desired_credential_id,
         desired_valid_from = excluded.desired_valid_from, desired_valid_until = excluded.desired_valid_until,
         desired_flags = excluded.desired_flags, desired_digest = excluded.desired_digest,
         last_error = NULL, attempts = 0, next_attempt_at = NULL, updated_at = excluded.updated_at`,
    ).run({
      lockId,
      kind,
      slot,
      credentialId: content.credentialId,
      validFrom: content.validFrom,
      validUntil: content.validUntil,
      flags: content.flags,
      digest: content.secretDigest,
      now: this.ctx.clock.now(),
    });
    return slot;
  }

  private freeSlot(lockId: string, kind: CredentialType, slotCount: number): number | undefined {
    const params = { lockId, kind, slotCount };
    // Lowest slot that is known empty or has no row at all (never used)... Through the index of
    // unwanted rows: by the primary key, SQLite walked every row of the lock's table (a lobby
    // filling up wants them all) for each slot it allocated.
    const knownEmpty = this.q(
      `SELECT min(slot) AS s FROM lock_slots INDEXED BY lock_slots_unwanted
         WHERE lock_id = @lockId AND kind = @kind AND desired_credential_id IS NULL AND applied_state = 'empty'`,
    ).get(params) as { s: number | null };
    const candidates = [knownEmpty.s, this.lowestSlotWithoutRow(params)].filter((s): s is number => s !== null && s < slotCount);
    if (candidates.length > 0) return Math.min(...candidates);
    // ...else one that is not wanted but still holds something (a PUT overwrites it).
    const reusable = this.q(
      "SELECT min(slot) AS s FROM lock_slots WHERE lock_id = @lockId AND kind = @kind AND desired_credential_id IS NULL AND slot < @slotCount",
    ).get(params) as { s: number | null };
    return reusable.s ?? undefined;
  }

  /**
   * The lowest slot number with no row. Rows are keyed by slot, so when there are as many rows
   * as the highest slot + 1 there is no gap and the answer is the next slot: the common case on
   * a lobby lock filling up, answered without walking its thousands of rows for a gap.
   */
  private lowestSlotWithoutRow(params: { lockId: string; kind: CredentialType }): number | null {
    // The count from lock_slot_counts (kept by triggers, store v14): count(*) walked every row.
    const { n, hi } = this.q(
      `SELECT (SELECT n FROM lock_slot_counts WHERE lock_id = @lockId AND kind = @kind) AS n,
              (SELECT max(slot) FROM lock_slots WHERE lock_id = @lockId AND kind = @kind) AS hi`,
    ).get(params) as { n: number | null; hi: number | null };
    if (hi === null) return 0;
    if (n === hi + 1) return hi + 1;
    const gap = this.q(
      `SELECT min(s) AS s FROM (
         SELECT 0 AS s WHERE NOT EXISTS (SELECT 1 FROM lock_slots WHERE lock_id = @lockId AND kind = @kind AND slot = 0)
         UNION ALL
         SELECT a.slot + 1 FROM lock_slots a WHERE a.lock_id = @lockId AND a.kind = @kind
           AND NOT EXISTS (SELECT 1 FROM lock_slots b WHERE b.lock_id = @lockId AND b.kind = @kind AND b.slot = a.slot + 1)
       )`,
    ).get(params) as { s: number | null };
    return gap.s;
  }

  private observeRows(lockId: string, kind: CredentialType, firstSlot: number, count: number, observed: ObservedSlot[]): void {
    const seen = new Map(observed.map((o) => [o.slot, o]));
    const existing = new Map(
      this.forLock(lockId, kind)
        .filter((s) => s.slot >= firstSlot && s.slot < firstSlot + count)
        .map((s) => [s.slot, s]),
    );
    for (let slot = firstSlot; slot < firstSlot + count; slot++) {
      const o = seen.get(slot);
      const before = existing.get(slot);
      if (!o) {
        // A slot without a row was never used: it needs no row to be known empty.
        if (before && before.appliedState !== "empty") this.setApplied(lockId, kind, slot, null);
        continue;
      }
      const content = { validFrom: o.validFrom, validUntil: o.validUntil, flags: o.flags, secretDigest: o.secretDigest };
      let credentialId: number | null = null;
      if (before?.desired && sameContent(before.desired, { ...content, credentialId: null })) credentialId = before.desired.credentialId;
      else if (before?.applied && sameContent(before.applied, { ...content, credentialId: null })) credentialId = before.applied.credentialId;
      this.setApplied(lockId, kind, slot, { ...content, credentialId });
    }
  }

  /** Like markApplied but keeps error and retry bookkeeping: an observation is not a success. */
  private setApplied(lockId: string, kind: CredentialType, slot: number, content: SlotContent | null): void {
    this.writeApplied(lockId, kind, slot, content, false);
  }

  /** Records what the slot holds; `resetRetry` also clears the last error and the retry schedule. */
  private writeApplied(lockId: string, kind: CredentialType, slot: number, content: SlotContent | null, resetRetry: boolean, atMs?: number): void {
    this.q(
      `INSERT INTO lock_slots (lock_id, kind, slot, applied_state, applied_credential_id, applied_valid_from, applied_valid_until,
         applied_flags, applied_digest, updated_at)
       VALUES (@lockId, @kind, @slot, @state, @credentialId, @validFrom, @validUntil, @flags, @digest, @now)
       ON CONFLICT (lock_id, kind, slot) DO UPDATE SET applied_state = excluded.applied_state,
         applied_credential_id = excluded.applied_credential_id, applied_valid_from = excluded.applied_valid_from,
         applied_valid_until = excluded.applied_valid_until, applied_flags = excluded.applied_flags,
         applied_digest = excluded.applied_digest, ${resetRetry ? "last_error = NULL, attempts = 0, next_attempt_at = NULL, " : ""}updated_at = excluded.updated_at`,
    ).run({
      lockId,
      kind,
      slot,
      state: content ? "held" : "empty",
      credentialId: content?.credentialId ?? null,
      validFrom: content?.validFrom ?? null,
      validUntil: content?.validUntil ?? null,
      flags: content?.flags ?? null,
      digest: content?.secretDigest ?? null,
      now: atMs ?? this.ctx.clock.now(),
    });
  }
}
