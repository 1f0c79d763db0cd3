/**
 * The keycard inventory (keycards.upsert / remove / list) and which key each card serves.
 * UIDs are secrets: never log them.
 */
import type { Keycard } from "../../access/model.js";
import { LockBridgeError } from "../../shared/errors.js";
import { statementCache, type RepoContext } from "../db.js";

export interface KeycardRecord extends Keycard {
  /** The key this card currently serves; null when unused. */
  assignedKeyId: string | null;
}

interface KeycardRow {
  card_id: string;
  uid: string;
  label: string;
  assigned_key_id: string | null;
}

const toRecord = (r: KeycardRow): KeycardRecord => ({ cardId: r.card_id, uid: r.uid, label: r.label, assignedKeyId: r.assigned_key_id });

export class KeycardsRepo {
  private readonly q;
  private readonly upsertTx;
  private readonly removeTx;
  constructor(private readonly ctx: RepoContext) {
    this.q = statementCache(ctx.db);
    this.upsertTx = ctx.db.transaction((cards: readonly Keycard[]) => {
      const stmt = this.q(
        `INSERT INTO keycards (card_id, uid, label, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (card_id) DO UPDATE SET uid = excluded.uid, label = excluded.label, updated_at = excluded.updated_at`,
      );
      const now = this.ctx.clock.now();
      for (const c of cards) stmt.run(c.cardId, c.uid.toLowerCase(), c.label, now);
    });
    this.removeTx = ctx.db.transaction((cardIds: readonly string[]) => {
      const stmt = this.q("DELETE FROM keycards WHERE card_id = ?");
      return cardIds.reduce((n, id) => n + stmt.run(id).changes, 0);
    });
  }

  get(cardId: string): KeycardRecord | undefined {
    const r = this.q("SELECT card_id, uid, label, assigned_key_id FROM keycards WHERE card_id = ?").get(cardId) as KeycardRow | undefined;
    return r && toRecord(r);
  }

  /** The card with this UID (hex, any case). */
  byUid(uid: string): KeycardRecord | undefined {
    const r = this.q("SELECT card_id, uid, label, assigned_key_id FROM keycards WHERE uid = ?").get(uid.toLowerCase()) as KeycardRow | undefined;
    return r && toRecord(r);
  }

  /** The card serving `keyId`, if any. */
  assignedTo(keyId: string): KeycardRecord | undefined {
    const r = this.q("SELECT card_id, uid, label, assigned_key_id FROM keycards WHERE assigned_key_id = ?").get(keyId) as KeycardRow | undefined;
    return r && toRecord(r);
  }

  /** The whole inventory by cardId. */
  list(): KeycardRecord[] {
    return (this.q("SELECT card_id, uid, label, assigned_key_id FROM keycards ORDER BY card_id").all() as KeycardRow[]).map(toRecord);
  }

  /** keycards.list with forKeyId: that key's card first, then the unused cards only. */
  listForKey(keyId: string): KeycardRecord[] {
    return (
      this.q(
        `SELECT card_id, uid, label, assigned_key_id FROM keycards
         WHERE assigned_key_id = ? OR assigned_key_id IS NULL
         ORDER BY assigned_key_id IS NULL, card_id`,
      ).all(keyId) as KeycardRow[]
    ).map(toRecord);
  }

  /** Adds or updates cards (assignment kept), in one transaction. UIDs are stored lower-case. */
  upsert(cards: readonly Keycard[]): void {
    this.upsertTx.immediate(cards);
  }

  /** Deletes cards from the inventory. @returns how many existed. */
  remove(cardIds: readonly string[]): number {
    return this.removeTx.immediate(cardIds);
  }

  /**
   * Makes `cardId` serve `keyId` (releasing the key's previous card). Throws unknown_keycard,
   * or keycard_in_use when it serves another key.
   */
  assign(cardId: string, keyId: string): void {
    this.ctx.db
      .transaction(() => {
        const card = this.get(cardId);
        if (!card) throw new LockBridgeError("unknown_keycard", `no keycard ${cardId}`);
        if (card.assignedKeyId !== null && card.assignedKeyId !== keyId) {
          throw new LockBridgeError("keycard_in_use", `keycard ${cardId} serves key ${card.assignedKeyId}`);
        }
        const now = this.ctx.clock.now();
        this.q("UPDATE keycards SET assigned_key_id = NULL, updated_at = ? WHERE assigned_key_id = ? AND card_id <> ?").run(now, keyId, cardId);
        this.q("UPDATE keycards SET assigned_key_id = ?, updated_at = ? WHERE card_id = ?").run(keyId, now, cardId);
      })
      .immediate();
  }

  /** The card serves no key any more. @returns whether it served one. */
  release(cardId: string): boolean {
    return (
      this.q("UPDATE keycards SET assigned_key_id = NULL, updated_at = ? WHERE card_id = ? AND assigned_key_id IS NOT NULL").run(
        this.ctx.clock.now(),
        cardId,
      ).changes > 0
    );
  }

  /** Releases whatever card serves `keyId`. @returns whether there was one. */
  releaseKey(keyId: string): boolean {
    return this.q("UPDATE keycards SET assigned_key_id = NULL, updated_at = ? WHERE assigned_key_id = ?").run(this.ctx.clock.now(), keyId).changes > 0;
  }
}
