/**
 * Events waiting for (or already sent to) the cloud. The seq is hub-wide, grows by one per
 * event, survives restarts and is never handed out twice, even after rows are deleted
 * (AUTOINCREMENT keeps the highest seq ever used). Append in the same transaction as the
 * change that caused the event.
 */
import { fromJson, statementCache, toJson, type RepoContext } from "../db.js";

/** An event body as the cloud module builds it (mqtt-api.md §5), without its seq. */
export type OutboxEvent = Readonly<Record<string, unknown>> & { readonly type: string };

export interface OutboxEntry {
  seq: number;
  /** The stored event with its seq. */
  event: OutboxEvent & { seq: number };
  createdAt: number;
  /** When the broker acknowledged it (PUBACK); null while unsent. */
  sentAt: number | null;
}

export interface TrimResult {
  /** Rows deleted in all. */
  dropped: number;
  /** Of those, events never sent: lost to the cloud (report them with hub.events_dropped). */
  droppedUnsent: number;
  /** Highest seq dropped unsent, if any (events up to it are gone). */
  lastUnsentDroppedSeq: number | null;
}

interface OutboxRow {
  seq: number;
  event: string;
  created_at: number;
  sent_at: number | null;
}

const toEntry = (r: OutboxRow): OutboxEntry => ({
  seq: r.seq,
  event: { ...fromJson<OutboxEvent>(r.event), seq: r.seq },
  createdAt: r.created_at,
  sentAt: r.sent_at,
});

export class OutboxRepo {
  private readonly q;
  private readonly trimTx;
  constructor(private readonly ctx: RepoContext) {
    this.q = statementCache(ctx.db);
    this.trimTx = ctx.db.transaction((max: number) => this.trimRows(max));
  }

  /** Stores an event and returns its seq. A `seq` field in `event` is ignored. */
  append(event: OutboxEvent): number {
    const { seq: _ignored, ...body } = event as OutboxEvent & { seq?: unknown };
    return Number(this.q("INSERT INTO outbox (event, created_at) VALUES (?, ?)").run(toJson(body), this.ctx.clock.now()).lastInsertRowid);
  }

  /** Unsent events, oldest first. */
  pending(limit: number): OutboxEntry[] {
    return (this.q("SELECT seq, event, created_at, sent_at FROM outbox WHERE sent_at IS NULL ORDER BY seq LIMIT ?").all(limit) as OutboxRow[]).map(
      toEntry,
    );
  }

  /** Unsent events with seq > afterSeq, oldest first (the sender's cursor skips those in flight). */
  pendingAfter(afterSeq: number, limit: number): OutboxEntry[] {
    return (
      this.q("SELECT seq, event, created_at, sent_at FROM outbox WHERE sent_at IS NULL AND seq > ? ORDER BY seq LIMIT ?").all(afterSeq, limit) as OutboxRow[]
    ).map(toEntry);
  }

  /** pendingAfter() without parsing: the stored event JSON (no seq in it), for the sender's hot path. */
  pendingAfterRaw(afterSeq: number, limit: number): { seq: number; json: string }[] {
    return (
      this.q("SELECT seq, event FROM outbox WHERE sent_at IS NULL AND seq > ? ORDER BY seq LIMIT ?").all(afterSeq, limit) as { seq: number; event: string }[]
    ).map((r) => ({ seq: r.seq, json: r.event }));
  }

  /** Records PUBACKs for every event in [fromSeq, toSeq] at once. @returns how many were unsent. */
  markSentRange(fromSeq: number, toSeq: number, at: number = this.ctx.clock.now()): number {
    return this.q("UPDATE outbox SET sent_at = ? WHERE seq BETWEEN ? AND ? AND sent_at IS NULL").run(at, fromSeq, toSeq).changes;
  }

  /** Records the broker's PUBACK for `seq`. @returns false if unknown or already sent. */
  markSent(seq: number, at: number = this.ctx.clock.now()): boolean {
    return this.q("UPDATE outbox SET sent_at = ? WHERE seq = ? AND sent_at IS NULL").run(at, seq).changes > 0;
  }

  /** Events still held with seq >= fromSeq, sent or not, oldest first (events.resend). */
  from(fromSeq: number, limit = 1000): OutboxEntry[] {
    return (this.q("SELECT seq, event, created_at, sent_at FROM outbox WHERE seq >= ? ORDER BY seq LIMIT ?").all(fromSeq, limit) as OutboxRow[]).map(
      toEntry,
    );
  }

  get(seq: number): OutboxEntry | undefined {
    const r = this.q("SELECT seq, event, created_at, sent_at FROM outbox WHERE seq = ?").get(seq) as OutboxRow | undefined;
    return r && toEntry(r);
  }

  /** The highest seq ever handed out (0 before the first event), whether or not its row is still held. */
  lastSeq(): number {
    const r = this.q("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").get() as { seq: number } | undefined;
    return r?.seq ?? 0;
  }

  /** The lowest seq still held (0 when the outbox is empty). With lastSeq() a cheap upper bound on the rows held. */
  firstSeq(): number {
    const r = this.q("SELECT min(seq) AS seq FROM outbox").get() as { seq: number | null };
    return r.seq ?? 0;
  }

  /**
   * events.resend: marks every held event with seq >= fromSeq unsent again, so that the
   * sender publishes them once more, in seq order. @returns how many events that is.
   */
  requeueFrom(fromSeq: number): number {
    this.q("UPDATE outbox SET sent_at = NULL WHERE seq >= ? AND sent_at IS NOT NULL").run(fromSeq);
    return (this.q("SELECT count(*) AS n FROM outbox WHERE seq >= ?").get(fromSeq) as { n: number }).n;
  }

  /** Rows held: all, and unsent. */
  depth(): { total: number; pending: number } {
    return this.q("SELECT count(*) AS total, count(*) FILTER (WHERE sent_at IS NULL) AS pending FROM outbox").get() as {
      total: number;
      pending: number;
    };
  }

  /**
   * Enforces the backlog bound: keeps at most `maxEvents` rows, dropping sent events
   * (oldest first) before unsent ones. One transaction.
   */
  trim(maxEvents: number): TrimResult {
    return this.trimTx.immediate(maxEvents);
  }

  /** Deletes sent events older than `cutoff` (the 7-day resend window). @returns how many. */
  purgeSentBefore(cutoff: number): number {
    return this.q("DELETE FROM outbox WHERE sent_at IS NOT NULL AND created_at < ?").run(cutoff).changes;
  }

  private trimRows(max: number): TrimResult {
    if (!Number.isInteger(max) || max < 0) throw new RangeError("maxEvents must be a non-negative integer");
    const { total } = this.depth();
    let excess = total - max;
    if (excess <= 0) return { dropped: 0, droppedUnsent: 0, lastUnsentDroppedSeq: null };
    const sent = this.q(
      "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox WHERE sent_at IS NOT NULL ORDER BY seq LIMIT ?)",
    ).run(excess).changes;
    excess -= sent;
    let droppedUnsent = 0;
    let lastUnsentDroppedSeq: number | null = null;
    if (excess > 0) {
      const rows = this.q(
        "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox WHERE sent_at IS NULL ORDER BY seq LIMIT ?) RETURNING seq",
      ).all(excess) as { seq: number }[];
      droppedUnsent = rows.length;
      lastUnsentDroppedSeq = rows.reduce<number | null>((m, r) => (m === null || r.seq > m ? r.seq : m), null);
    }
    return { dropped: sent + droppedUnsent, droppedUnsent, lastUnsentDroppedSeq };
  }
}
